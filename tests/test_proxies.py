"""Proxies against a real proxy on loopback (tests/servers/proxy.py).

Every test checks both sides: what the proxy recorded (kind, target as the client
gave it, credentials) and what the origin answered.  Where the expected
behaviour is "whatever requests does", the same call is also made with the
real requests package against the same proxy and the two outcomes compared
(plain-HTTP and CONNECT proxying only: requests needs PySocks for SOCKS, which
is not a test dependency).

Proxy environment variables are removed for every test (conftest removes them
for the run; the autouse fixture below also removes any a test left behind);
tests that need them set them with monkeypatch.  requestx reads the environment
once per Session, at its first request; the module-level functions use a new
Session per call.
"""

from __future__ import annotations

import base64
import importlib.util
import socket
import time

import pytest
import requests
from _helpers import PROXY_ENV_VARS
from servers.proxy import ProxyServer

import requestx
from requestx import exceptions as exc

PROXY_USER = "proxy user"
PROXY_PASSWORD = "p@ss:w/rd%"
# A name that only the proxy can resolve (its hosts map sends it to 127.0.0.1).
ORIGIN_NAME = "origin.requestx.test"
CALL_TIMEOUT = 5


pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")

# True when the suite is pointed at plain requests (see tests/README.md).
AGAINST_REQUESTS = requestx.Session is requests.Session
needs_socks = pytest.mark.skipif(
    AGAINST_REQUESTS and importlib.util.find_spec("socks") is None,
    reason="requests needs PySocks for SOCKS proxies",
)


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch):
    for name in PROXY_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def _serve(**kwargs):
    server = ProxyServer(hosts={ORIGIN_NAME: "127.0.0.1"}, **kwargs).start()
    return server


@pytest.fixture
def proxy():
    server = _serve()
    yield server
    server.stop()
    assert not server.handler_errors, server.handler_errors


@pytest.fixture
def auth_proxy():
    server = _serve(credentials=(PROXY_USER, PROXY_PASSWORD))
    yield server
    server.stop()
    assert not server.handler_errors, server.handler_errors


@pytest.fixture
def set_env(monkeypatch):
    def set_env(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _targets(server):
    return [(r.kind, r.target) for r in server.records]


def _outcome(call):
    """('response', status) or ('raised', exception class name)."""
    try:
        r = call()
    except Exception as e:  # the class is what is compared
        return ("raised", type(e).__name__)
    return ("response", r.status_code)


def _differential(server, call):
    """Run ``call(lib)`` with requests, then with requestx, against ``server``;
    return each library's outcome and what the proxy recorded for it."""
    results = []
    for lib in (requests, requestx):
        server.clear()
        results.append((_outcome(lambda lib=lib: call(lib)), _targets(server)))
    server.clear()
    return results


def _assert_direct_works(session, httpbin):
    r = session.get(httpbin + "/get", timeout=CALL_TIMEOUT)
    assert r.status_code == 200
    assert r.json()["url"] == httpbin + "/get"


# ---------------------------------------------------------------------------
# plain HTTP through an HTTP proxy (absolute-form requests)
# ---------------------------------------------------------------------------


def test_http_proxy_forwards_absolute_form_request(proxy, httpbin):
    url = httpbin + "/get?x=1&y=two"
    r = requestx.get(url, proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
    assert r.status_code == 200
    body = r.json()
    assert body["url"] == url
    assert body["args"] == {"x": "1", "y": "two"}
    (record,) = proxy.records
    assert record.kind == "http"
    assert record.target == f"127.0.0.1:{httpbin.port}"
    assert record.request_line == f"GET {url} HTTP/1.1"
    assert record.header("Host") == f"127.0.0.1:{httpbin.port}"
    assert record.username is None
    assert record.reply == 200


def test_http_proxy_gets_no_proxy_connection_field_unless_the_caller_sends_one(proxy, httpbin):
    """requests (urllib3) never sends Proxy-Connection; libcurl would add
    "Proxy-Connection: Keep-Alive" to every forwarded request."""
    with requestx.Session() as s:
        s.get(httpbin + "/get", proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
        s.get(
            httpbin + "/get",
            proxies={"http": proxy.url},
            headers={"Proxy-Connection": "close"},
            timeout=CALL_TIMEOUT,
        )
        s.get(httpbin + "/get", timeout=CALL_TIMEOUT)  # no proxy: nothing recorded
    first, second = proxy.records
    assert "proxy-connection" not in [n.lower() for n, _ in first.headers]
    assert second.header("Proxy-Connection") == "close"


def test_http_proxy_relays_request_body(proxy, httpbin):
    payload = {"text": "through the proxy", "n": list(range(50))}
    big = b"x" * 200_000
    r = requestx.post(httpbin + "/post", json=payload, proxies={"http": proxy.url})
    assert r.status_code == 200
    assert r.json()["json"] == payload
    r = requestx.put(httpbin + "/put", data=big, proxies={"http": proxy.url})
    assert r.json()["data"] == big.decode()
    assert [(rec.kind, rec.request_line.split()[0]) for rec in proxy.records] == [
        ("http", "POST"),
        ("http", "PUT"),
    ]


def test_http_proxy_relays_status_headers_and_streamed_body(proxy, httpbin):
    r = requestx.get(
        httpbin + "/response-headers",
        params={"X-Through": "proxy"},
        proxies={"http": proxy.url},
    )
    assert r.headers["X-Through"] == "proxy"
    r = requestx.get(httpbin + "/status/418", proxies={"http": proxy.url})
    assert r.status_code == 418
    direct = requestx.get(httpbin + "/stream-bytes/60000?seed=7&chunk_size=1000").content
    r = requestx.get(
        httpbin + "/stream-bytes/60000?seed=7&chunk_size=1000",
        proxies={"http": proxy.url},
        stream=True,
    )
    assert b"".join(r.iter_content(4096)) == direct
    assert [rec.reply for rec in proxy.records] == [200, 418, 200]


def test_proxy_for_another_scheme_is_not_used(proxy, httpbin):
    r = requestx.get(httpbin + "/get", proxies={"https": proxy.url})
    assert r.json()["url"] == httpbin + "/get"
    assert proxy.records == []


def test_http_proxy_is_not_used_for_https_origin(proxy, httpbin_secure, tls_materials):
    r = requestx.get(
        httpbin_secure + "/get", proxies={"http": proxy.url}, verify=tls_materials.ca_file
    )
    assert r.status_code == 200
    assert proxy.records == []


def test_proxy_url_without_scheme_is_http(proxy, httpbin):
    r = requestx.get(httpbin + "/get", proxies={"http": f"127.0.0.1:{proxy.port}"})
    assert r.status_code == 200
    assert _targets(proxy) == [("http", f"127.0.0.1:{httpbin.port}")]


def test_redirects_are_followed_through_the_proxy(proxy, httpbin):
    r = requestx.get(httpbin + "/redirect-to?url=/get", proxies={"http": proxy.url})
    assert r.status_code == 200
    assert r.json()["url"] == httpbin + "/get"
    assert [h.status_code for h in r.history] == [302]
    assert [rec.request_line for rec in proxy.records] == [
        f"GET {httpbin.url}/redirect-to?url=/get HTTP/1.1",
        f"GET {httpbin.url}/get HTTP/1.1",
    ]


# ---------------------------------------------------------------------------
# Session.proxies
# ---------------------------------------------------------------------------


def test_session_proxies_are_used(session, proxy, httpbin):
    session.proxies = {"http": proxy.url}
    for _ in range(2):
        r = session.get(httpbin + "/get")
        assert r.json()["url"] == httpbin + "/get"
    assert _targets(proxy) == [("http", f"127.0.0.1:{httpbin.port}")] * 2


def test_request_proxies_override_session_proxies(session, proxy, httpbin, refused_url):
    session.proxies = {"http": refused_url}
    r = session.get(httpbin + "/get", proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
    assert r.status_code == 200
    assert len(proxy.records) == 1


def test_request_proxy_none_removes_session_proxy(session, proxy, httpbin):
    session.proxies = {"http": proxy.url}
    r = session.get(httpbin + "/get", proxies={"http": None})
    assert r.json()["url"] == httpbin + "/get"
    assert proxy.records == []
    # the session's own setting is untouched
    session.get(httpbin + "/get")
    assert len(proxy.records) == 1


def test_session_proxies_changes_take_effect(session, proxy, httpbin):
    session.get(httpbin + "/get")
    session.proxies["http"] = proxy.url
    session.get(httpbin + "/get")
    del session.proxies["http"]
    session.get(httpbin + "/get")
    assert len(proxy.records) == 1


# ---------------------------------------------------------------------------
# HTTPS through CONNECT
# ---------------------------------------------------------------------------


def test_https_through_connect_tunnel(proxy, httpbin_secure, tls_materials):
    url = httpbin_secure + "/get?via=connect"
    r = requestx.get(url, proxies={"https": proxy.url}, verify=tls_materials.ca_file)
    assert r.status_code == 200
    assert r.json()["url"] == url
    (record,) = proxy.records
    assert record.kind == "connect"
    assert record.target == f"127.0.0.1:{httpbin_secure.port}"
    # (libcurl says HTTP/1.1, http.client HTTP/1.0)
    assert record.request_line.startswith(f"CONNECT 127.0.0.1:{httpbin_secure.port} HTTP/1.")
    assert record.reply == 200


def test_connect_names_the_host_and_tls_is_checked_end_to_end(
    session, proxy, tls_server, tls_materials
):
    session.proxies = {"https": proxy.url}
    session.verify = tls_materials.ca_file
    url = f"https://localhost:{tls_server.port}/json"
    r = session.get(url)
    assert r.json() == {"method": "GET", "path": "/json", "scheme": "https"}
    assert _targets(proxy) == [("connect", f"localhost:{tls_server.port}")]
    # the tunnel is transparent: the origin's certificate is still verified
    with pytest.raises(exc.SSLError):
        session.get(url, verify=True, timeout=CALL_TIMEOUT)


# ---------------------------------------------------------------------------
# credentials in the proxy URL
# ---------------------------------------------------------------------------


def test_proxy_credentials_are_sent_and_percent_decoded(auth_proxy, httpbin):
    r = requestx.get(httpbin + "/headers", proxies={"http": auth_proxy.authed_url()})
    assert r.status_code == 200
    (record,) = auth_proxy.records
    assert (record.username, record.password) == (PROXY_USER, PROXY_PASSWORD)
    assert record.header("Proxy-Authorization") == _basic(PROXY_USER, PROXY_PASSWORD)
    assert record.authorized
    # Proxy-Authorization is for the proxy: the origin does not see it
    assert "Proxy-Authorization" not in r.json()["headers"]


def test_http_proxy_auth_object_authenticates_to_the_proxy(auth_proxy, httpbin):
    auth = requestx.auth.HTTPProxyAuth(PROXY_USER, PROXY_PASSWORD)
    r = requestx.get(httpbin + "/get", proxies={"http": auth_proxy.url}, auth=auth)
    assert r.status_code == 200
    assert auth_proxy.records[0].authorized


def test_https_proxy_credentials_go_in_the_connect_request(
    auth_proxy, httpbin_secure, tls_materials
):
    r = requestx.get(
        httpbin_secure + "/headers",
        proxies={"https": auth_proxy.authed_url()},
        verify=tls_materials.ca_file,
    )
    assert r.status_code == 200
    assert "Proxy-Authorization" not in r.json()["headers"]
    (record,) = auth_proxy.records
    assert record.kind == "connect"
    assert (record.username, record.password, record.authorized) == (
        PROXY_USER,
        PROXY_PASSWORD,
        True,
    )


@pytest.mark.parametrize("credentials", ["wrong", "missing"])
def test_http_proxy_rejecting_credentials_gives_407_like_requests(auth_proxy, httpbin, credentials):
    if credentials == "wrong":
        proxy_url = auth_proxy.proxy_url("http", PROXY_USER, "not-the-password")
    else:
        proxy_url = auth_proxy.url

    def observe(lib):
        auth_proxy.clear()
        r = lib.get(httpbin + "/get", proxies={"http": proxy_url}, timeout=CALL_TIMEOUT)
        (record,) = auth_proxy.records
        assert not record.authorized
        return {
            "status": r.status_code,
            "reason": r.reason,
            "ok": r.ok,
            "url": r.url,
            "proxy-authenticate": r.headers.get("Proxy-Authenticate"),
            "body": r.content,
            "sent": record.username,
        }

    theirs, ours = observe(requests), observe(requestx)
    assert theirs["status"] == 407
    assert ours == theirs


def test_https_proxy_rejecting_credentials_raises_proxy_error_like_requests(
    session, auth_proxy, httpbin, httpbin_secure, tls_materials
):
    bad = auth_proxy.proxy_url("http", PROXY_USER, "not-the-password")

    def call(lib):
        return lib.get(
            httpbin_secure + "/get",
            proxies={"https": bad},
            verify=tls_materials.ca_file,
            timeout=CALL_TIMEOUT,
        )

    (theirs, _), (ours, recorded) = _differential(auth_proxy, call)
    assert theirs == ("raised", "ProxyError")
    assert ours == theirs
    with pytest.raises(exc.ProxyError):
        session.get(httpbin_secure + "/get", proxies={"https": bad}, verify=False)
    assert [r.reply for r in auth_proxy.records] == [407]
    _assert_direct_works(session, httpbin)


# ---------------------------------------------------------------------------
# SOCKS
# ---------------------------------------------------------------------------


@needs_socks
def test_socks5_sends_the_address_the_client_resolved(proxy, httpbin):
    url = httpbin.url_for_host("localhost") + "/get"
    r = requestx.get(url, proxies={"http": proxy.proxy_url("socks5")})
    assert r.json()["url"] == url  # the origin still sees the name in Host
    (record,) = proxy.records
    assert record.kind == "socks5"
    assert record.address_type in ("ipv4", "ipv6")
    assert record.host in ("127.0.0.1", "::1")
    assert record.port == httpbin.port
    assert record.methods and 0 in record.methods
    assert record.reply == 0


@needs_socks
def test_socks5h_sends_the_host_name(proxy, httpbin):
    url = httpbin.url_for_host("localhost") + "/get"
    r = requestx.get(url, proxies={"http": proxy.proxy_url("socks5h")})
    assert r.json()["url"] == url
    (record,) = proxy.records
    assert (record.kind, record.address_type, record.target) == (
        "socks5",
        "domain",
        f"localhost:{httpbin.port}",
    )


@needs_socks
def test_socks5h_reaches_a_name_only_the_proxy_can_resolve(proxy, httpbin):
    url = f"http://{ORIGIN_NAME}:{httpbin.port}/get"
    r = requestx.get(url, proxies={"http": proxy.proxy_url("socks5h")})
    assert r.status_code == 200
    assert r.json()["headers"]["Host"] == f"{ORIGIN_NAME}:{httpbin.port}"
    assert _targets(proxy) == [("socks5", f"{ORIGIN_NAME}:{httpbin.port}")]


@needs_socks
def test_socks5_ipv6_address_type(proxy, httpbin):
    # The proxy maps ::1 to 127.0.0.1, so the origin can stay on IPv4.
    url = f"http://[::1]:{httpbin.port}/get"
    r = requestx.get(url, proxies={"http": proxy.proxy_url("socks5")})
    assert r.status_code == 200
    assert r.json()["headers"]["Host"] == f"[::1]:{httpbin.port}"
    (record,) = proxy.records
    assert (record.address_type, record.host, record.port) == ("ipv6", "::1", httpbin.port)


@needs_socks
@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_socks5_username_password_authentication(auth_proxy, httpbin, scheme):
    url = httpbin.url_for_host("localhost") + "/get"
    r = requestx.get(url, proxies={"http": auth_proxy.authed_url(scheme)})
    assert r.json()["url"] == url
    (record,) = auth_proxy.records
    assert 2 in record.methods
    assert (record.username, record.password, record.authorized) == (
        PROXY_USER,
        PROXY_PASSWORD,
        True,
    )
    assert (record.address_type == "domain") == (scheme == "socks5h")


@needs_socks
@pytest.mark.parametrize("credentials", ["wrong", "missing"])
def test_socks5_rejected_credentials_raise_connection_error(
    session, auth_proxy, httpbin, credentials
):
    password = "not-the-password" if credentials == "wrong" else None
    user = PROXY_USER if credentials == "wrong" else None
    proxy_url = auth_proxy.proxy_url("socks5h", user, password)
    # requests (PySocks) raises ConnectionError; requestx raises its subclass
    # ProxyError.
    with pytest.raises(exc.ConnectionError):
        session.get(httpbin + "/get", proxies={"http": proxy_url}, timeout=CALL_TIMEOUT)
    (record,) = auth_proxy.records
    assert not record.authorized
    assert record.host == ""  # refused before any target was named
    _assert_direct_works(session, httpbin)


@needs_socks
def test_https_through_socks5h(session, proxy, tls_server, tls_materials):
    url = f"https://localhost:{tls_server.port}/json"
    session.proxies = {"https": proxy.proxy_url("socks5h")}
    r = session.get(url, verify=tls_materials.ca_file)
    assert r.json()["scheme"] == "https"
    assert _targets(proxy) == [("socks5", f"localhost:{tls_server.port}")]


@needs_socks
@pytest.mark.parametrize(
    "scheme, kind, address_type",
    [("socks4", "socks4", "ipv4"), ("socks4a", "socks4a", "domain")],
)
def test_socks4_and_socks4a(proxy, httpbin, scheme, kind, address_type):
    url = httpbin.url_for_host("localhost") + "/get"
    r = requestx.get(url, proxies={"http": proxy.proxy_url(scheme)})
    assert r.json()["url"] == url
    (record,) = proxy.records
    assert (record.kind, record.address_type, record.port) == (kind, address_type, httpbin.port)


@needs_socks
def test_session_proxies_socks5h_for_every_scheme(session, proxy, httpbin, tls_server):
    session.proxies = {"all": proxy.proxy_url("socks5h")}
    session.get(httpbin.url_for_host("localhost") + "/get")
    session.get(f"https://localhost:{tls_server.port}/ok", verify=False)
    assert _targets(proxy) == [
        ("socks5", f"localhost:{httpbin.port}"),
        ("socks5", f"localhost:{tls_server.port}"),
    ]


# ---------------------------------------------------------------------------
# which proxy: the keys of the proxies mapping
# ---------------------------------------------------------------------------

# (mapping with "P" for the recording proxy and "R" for a refused port,
#  whether the request goes through P)
SELECTION_CASES = {
    "scheme-and-host-beats-scheme": ({"http://127.0.0.1": "P", "http": "R"}, True),
    "scheme-beats-all": ({"http": "P", "all": "R"}, True),
    "scheme-beats-all-and-host": ({"http": "P", "all://127.0.0.1": "R"}, True),
    "all-and-host-beats-all": ({"all://127.0.0.1": "P", "all": "R"}, True),
    "all": ({"all": "P"}, True),
    "other-scheme-and-host": ({"https://127.0.0.1": "R", "http": "P"}, True),
    "other-host": ({"http://localhost": "R"}, False),
    "host-key-has-no-port": ({"http://127.0.0.1:{port}": "R"}, False),
}


@pytest.mark.parametrize("case", list(SELECTION_CASES))
def test_proxy_selection_keys(proxy, httpbin, refused_url, case):
    mapping, proxied = SELECTION_CASES[case]
    urls = {"P": proxy.url, "R": refused_url}
    proxies = {key.format(port=httpbin.port): urls[value] for key, value in mapping.items()}
    r = requestx.get(httpbin + "/get", proxies=proxies, timeout=CALL_TIMEOUT)
    assert r.json()["url"] == httpbin + "/get"
    assert len(proxy.records) == (1 if proxied else 0)


# ---------------------------------------------------------------------------
# the environment (trust_env)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_proxy_environment_variable_for_http(set_env, proxy, httpbin, name):
    set_env(**{name: proxy.url})
    r = requestx.get(httpbin + "/get")
    assert r.json()["url"] == httpbin + "/get"
    with requestx.Session() as s:
        s.get(httpbin + "/get")
    assert _targets(proxy) == [("http", f"127.0.0.1:{httpbin.port}")] * 2


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy"])
def test_https_proxy_environment_variable(set_env, proxy, httpbin, httpbin_secure, name):
    set_env(**{name: proxy.url})
    r = requestx.get(httpbin_secure + "/get", verify=False)
    assert r.json()["url"] == httpbin_secure + "/get"
    requestx.get(httpbin + "/get")  # not for http URLs
    assert _targets(proxy) == [("connect", f"127.0.0.1:{httpbin_secure.port}")]


@needs_socks
def test_all_proxy_environment_socks5h(set_env, proxy, httpbin):
    set_env(ALL_PROXY=proxy.proxy_url("socks5h"))
    url = httpbin.url_for_host("localhost") + "/get"
    assert requestx.get(url).json()["url"] == url
    assert _targets(proxy) == [("socks5", f"localhost:{httpbin.port}")]


def test_proxy_environment_with_credentials(set_env, auth_proxy, httpbin):
    set_env(HTTP_PROXY=auth_proxy.authed_url())
    assert requestx.get(httpbin + "/get").status_code == 200
    (record,) = auth_proxy.records
    assert (record.username, record.password, record.authorized) == (
        PROXY_USER,
        PROXY_PASSWORD,
        True,
    )


# (NO_PROXY value, host of the URL, whether the proxy is bypassed)
NO_PROXY_CASES = [
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "localhost", False),
    ("localhost", "localhost", True),
    ("LOCALHOST", "localhost", True),
    ("localhost", "127.0.0.1", False),
    (".localhost", "localhost", True),
    ("localhost:{port}", "localhost", True),
    ("localhost:1", "localhost", False),
    ("*", "127.0.0.1", True),
    ("*", "localhost", True),
    ("127.0.0.0/8", "127.0.0.1", True),
    ("127.0.0.1/32", "127.0.0.1", True),
    ("10.0.0.0/8", "127.0.0.1", False),
    ("127.0.0.2", "127.0.0.1", False),
    (" example.com , 127.0.0.1 ", "127.0.0.1", True),
    ("example.com,other.test", "localhost", False),
]


@pytest.mark.parametrize("variable", ["NO_PROXY", "no_proxy"])
@pytest.mark.parametrize(
    "no_proxy, host, bypassed",
    NO_PROXY_CASES,
    ids=[f"{v.strip()}-{h}" for v, h, _ in NO_PROXY_CASES],
)
def test_no_proxy_environment_like_requests(
    set_env, proxy, httpbin, variable, no_proxy, host, bypassed
):
    set_env(HTTP_PROXY=proxy.url, **{variable: no_proxy.format(port=httpbin.port)})
    url = httpbin.url_for_host(host) + "/get"
    (theirs, their_records), (ours, our_records) = _differential(
        proxy, lambda lib: lib.get(url, timeout=CALL_TIMEOUT)
    )
    assert theirs == ours == ("response", 200)
    assert (their_records == []) is bypassed
    assert our_records == their_records


@pytest.fixture
def unresolvable_name():
    """ORIGIN_NAME must fail to resolve, quickly, outside the proxy."""
    start = time.monotonic()
    try:
        socket.getaddrinfo(ORIGIN_NAME, 80)
    except OSError:
        if time.monotonic() - start < 2:
            return ORIGIN_NAME
        pytest.skip("name resolution is slow on this machine")
    pytest.skip(f"{ORIGIN_NAME} resolves on this machine")


@pytest.mark.parametrize(
    "no_proxy, bypassed", [("requestx.test", True), (".requestx.test", True), ("x.test", False)]
)
def test_no_proxy_domain_suffix(set_env, proxy, httpbin, unresolvable_name, no_proxy, bypassed):
    # Bypassed, the client must resolve the name itself, and cannot.
    set_env(HTTP_PROXY=proxy.url, NO_PROXY=no_proxy)
    url = f"http://{unresolvable_name}:{httpbin.port}/get"
    if bypassed:
        with pytest.raises(exc.ConnectionError):
            requestx.get(url, timeout=CALL_TIMEOUT)
        assert proxy.records == []
    else:
        assert requestx.get(url, timeout=CALL_TIMEOUT).status_code == 200
        assert _targets(proxy) == [("http", f"{unresolvable_name}:{httpbin.port}")]


def test_no_proxy_key_in_proxies_argument(set_env, proxy, httpbin):
    set_env(HTTP_PROXY=proxy.url)
    r = requestx.get(httpbin + "/get", proxies={"no_proxy": "127.0.0.1"})
    assert r.status_code == 200
    assert proxy.records == []


def test_explicit_proxies_beat_the_environment(set_env, proxy, httpbin, refused_url):
    set_env(HTTP_PROXY=refused_url, ALL_PROXY=refused_url)
    r = requestx.get(httpbin + "/get", proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
    assert r.status_code == 200
    assert len(proxy.records) == 1


@pytest.mark.parametrize("variable, key", [("HTTP_PROXY", "http"), ("ALL_PROXY", "all")])
def test_explicit_none_proxy_disables_environment_proxy_like_requests(
    set_env, proxy, httpbin, variable, key
):
    # requests: the environment only fills keys the call did not set, and a
    # key set to None means "no proxy", so the request goes direct.
    set_env(**{variable: proxy.url})
    (theirs, their_records), (ours, our_records) = _differential(
        proxy, lambda lib: lib.get(httpbin + "/get", proxies={key: None}, timeout=CALL_TIMEOUT)
    )
    assert theirs == ("response", 200)
    assert their_records == []
    assert (ours, our_records) == (theirs, their_records)


@pytest.mark.parametrize("trust_env", [True, False])
def test_no_proxy_environment_does_not_bypass_explicit_proxies_like_requests(
    set_env, proxy, httpbin, httpbin_secure, trust_env
):
    # NO_PROXY only filters proxies taken from the environment: an explicit
    # proxies= (or Session.proxies) is used whatever NO_PROXY says.
    set_env(NO_PROXY="127.0.0.1", no_proxy="*")

    def call(lib):
        with lib.Session() as s:
            s.trust_env = trust_env
            s.verify = False
            s.get(httpbin + "/get", proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
            return s.get(httpbin_secure + "/get", proxies={"https": proxy.url})

    (theirs, their_records), (ours, our_records) = _differential(proxy, call)
    assert theirs == ("response", 200)
    assert [kind for kind, _ in their_records] == ["http", "connect"]
    assert (ours, our_records) == (theirs, their_records)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "HTTPS_PROXY"])
def test_trust_env_false_ignores_proxy_environment(
    set_env, proxy, httpbin, httpbin_secure, variable
):
    set_env(**{variable: proxy.url})
    with requestx.Session() as s:
        s.trust_env = False
        assert s.get(httpbin + "/get").json()["url"] == httpbin + "/get"
        assert s.get(httpbin_secure + "/get", verify=False).status_code == 200
    assert proxy.records == []


@pytest.mark.requestx_only
def test_session_reads_the_proxy_environment_once(set_env, proxy, httpbin, refused_url):
    # docs/compatibility.md: the environment is read at a session's first
    # request (requests reads it before every request).
    set_env(HTTP_PROXY=proxy.url)
    with requestx.Session() as s:
        s.get(httpbin + "/get")
        set_env(HTTP_PROXY=refused_url)
        s.get(httpbin + "/get", timeout=CALL_TIMEOUT)
    assert len(proxy.records) == 2
    with pytest.raises(exc.ProxyError):
        requestx.get(httpbin + "/get", timeout=CALL_TIMEOUT)  # a new Session sees it


def test_module_level_functions_see_environment_changes(set_env, proxy, httpbin):
    requestx.get(httpbin + "/get")
    set_env(HTTP_PROXY=proxy.url)
    requestx.get(httpbin + "/get")
    set_env(NO_PROXY="127.0.0.1")
    requestx.get(httpbin + "/get")
    assert len(proxy.records) == 1


def test_merge_environment_settings_follows_the_rule_requests_are_sent_by(set_env, proxy, httpbin):
    """One precedence rule, in the public merge and in what is sent: the
    request's proxies over the session's over the environment's."""
    set_env(HTTP_PROXY="http://127.0.0.1:9")  # nothing listens there
    url = httpbin + "/get"
    with requestx.Session() as s:
        s.proxies = {"http": proxy.url}
        merged = s.merge_environment_settings(url, {}, None, None, None)
        assert merged["proxies"]["http"] == proxy.url
        assert s.get(url, timeout=CALL_TIMEOUT).status_code == 200
        assert len(proxy.records) == 1  # through the session's proxy, not the environment's

        # a request's None removes the key, also the one the environment would fill in
        merged = s.merge_environment_settings(url, {"http": None}, None, None, None)
        assert "http" not in merged["proxies"]
        assert s.get(url, proxies={"http": None}, timeout=CALL_TIMEOUT).status_code == 200
        assert len(proxy.records) == 1  # sent directly


def test_merge_environment_settings_applies_no_proxy_to_the_environment_only(set_env, proxy):
    set_env(HTTP_PROXY=proxy.url, NO_PROXY="example.test")
    with requestx.Session() as s:
        merged = s.merge_environment_settings("http://example.test/", {}, None, None, None)
        assert merged["proxies"] == {}
        s.proxies = {"http": proxy.url}
        merged = s.merge_environment_settings("http://example.test/", {}, None, None, None)
        assert merged["proxies"] == {"http": proxy.url}  # the session's own stays


@pytest.mark.skip(
    reason="requests lets environment proxies override Session.proxies (documented "
    "warning in requests' docs, psf/requests#2018); requestx uses Session.proxies"
)
def test_environment_overrides_session_proxies_like_requests(set_env, proxy, httpbin):
    set_env(HTTP_PROXY=proxy.url)

    def call(lib):
        with lib.Session() as s:
            s.proxies = {"http": f"http://127.0.0.1:{proxy.port + 1}"}
            return s.get(httpbin + "/get", timeout=CALL_TIMEOUT)

    (theirs, their_records), (ours, our_records) = _differential(proxy, call)
    assert (ours, our_records) == (theirs, their_records)


@pytest.mark.skip(
    reason="requests keeps the environment's proxy on a redirect to a NO_PROXY host "
    "(rebuild_proxies starts from the already merged proxies); requestx applies NO_PROXY"
)
def test_redirect_to_no_proxy_host_like_requests(set_env, proxy, httpbin):
    set_env(HTTP_PROXY=proxy.url, NO_PROXY="localhost")
    url = httpbin + "/redirect-to?url=" + httpbin.url_for_host("localhost") + "/get"
    (theirs, their_records), (ours, our_records) = _differential(
        proxy, lambda lib: lib.get(url, timeout=CALL_TIMEOUT)
    )
    assert (ours, our_records) == (theirs, their_records)


@pytest.mark.skip(
    reason="requests ignores a port in a NO_PROXY entry for an IP address host but "
    "honours it for a host name; requestx honours it for both"
)
def test_no_proxy_ip_with_port_like_requests(set_env, proxy, httpbin):
    set_env(HTTP_PROXY=proxy.url, NO_PROXY=f"127.0.0.1:{httpbin.port}")
    (theirs, their_records), (ours, our_records) = _differential(
        proxy, lambda lib: lib.get(httpbin + "/get", timeout=CALL_TIMEOUT)
    )
    assert (ours, our_records) == (theirs, their_records)


# ---------------------------------------------------------------------------
# proxy failures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http", "https"])
def test_refused_proxy_raises_proxy_error(session, httpbin, refused_url, origin):
    url = (httpbin.url if origin == "http" else httpbin.url.replace("http:", "https:")) + "/get"
    with pytest.raises(exc.ProxyError) as info:
        session.get(url, proxies={origin: refused_url}, timeout=CALL_TIMEOUT)
    assert info.value.request is not None
    assert info.value.request.url == url
    _assert_direct_works(session, httpbin)


@needs_socks
@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4"])
def test_refused_socks_proxy_raises_connection_error(session, httpbin, refused_url, scheme):
    # requests (PySocks) raises ConnectionError, requestx its subclass ProxyError.
    proxy_url = refused_url.replace("http:", scheme + ":")
    with pytest.raises(exc.ConnectionError):
        session.get(httpbin + "/get", proxies={"http": proxy_url}, timeout=CALL_TIMEOUT)
    _assert_direct_works(session, httpbin)


def test_connect_answered_403_raises_proxy_error_like_requests(
    session, proxy, httpbin, httpbin_secure
):
    proxy.mode = "refuse-connect"

    def call(lib):
        return lib.get(
            httpbin_secure + "/get", proxies={"https": proxy.url}, verify=False, timeout=5
        )

    (theirs, their_records), (ours, our_records) = _differential(proxy, call)
    assert theirs == ("raised", "ProxyError")
    assert ours == theirs
    assert our_records == their_records == [("connect", f"127.0.0.1:{httpbin_secure.port}")]
    with pytest.raises(exc.ProxyError):
        call(session)
    assert [r.reply for r in proxy.records] == [403]
    _assert_direct_works(session, httpbin)


def test_connect_to_unreachable_target_raises_proxy_error_like_requests(proxy):
    # The proxy answers CONNECT with 502 (it cannot reach the name).
    url = f"https://{ORIGIN_NAME}.invalid/get"
    (theirs, _), (ours, our_records) = _differential(
        proxy, lambda lib: lib.get(url, proxies={"https": proxy.url}, timeout=CALL_TIMEOUT)
    )
    assert theirs == ("raised", "ProxyError")
    assert ours == theirs
    assert our_records == [("connect", f"{ORIGIN_NAME}.invalid:443")]


def test_http_proxy_error_response_is_returned_like_requests(proxy):
    # For plain http the proxy's own error response is the response.
    url = f"http://{ORIGIN_NAME}.invalid/get"
    (theirs, _), (ours, _) = _differential(
        proxy, lambda lib: lib.get(url, proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)
    )
    assert theirs == ("response", 502)
    assert ours == theirs


def test_proxy_closing_during_connect_raises_connection_error(session, proxy, httpbin):
    proxy.mode = "close-on-connect"
    url = httpbin.url.replace("http:", "https:") + "/get"
    # requests raises ConnectionError ("Connection aborted."), requestx ProxyError
    with pytest.raises(exc.ConnectionError):
        session.get(url, proxies={"https": proxy.url}, timeout=CALL_TIMEOUT)
    assert _targets(proxy) == [("connect", f"127.0.0.1:{httpbin.port}")]
    assert proxy.records[0].reply is None
    _assert_direct_works(session, httpbin)


@pytest.mark.requestx_only
@pytest.mark.parametrize("mode", ["close-on-connect", "close"])
def test_proxy_failing_before_the_tunnel_is_a_proxy_error(session, proxy, httpbin, mode):
    proxy.mode = mode
    url = httpbin.url.replace("http:", "https:") + "/get"
    with pytest.raises(exc.ProxyError):
        session.get(url, proxies={"https": proxy.url}, timeout=CALL_TIMEOUT)
    _assert_direct_works(session, httpbin)


def test_http_proxy_closing_without_response_raises_proxy_error_like_requests(
    session, proxy, httpbin
):
    # The proxy accepts the TCP connection and closes it at once: for a plain
    # http request through a proxy, requests raises ProxyError.
    proxy.mode = "close"

    def call(lib):
        return lib.get(httpbin + "/get", proxies={"http": proxy.url}, timeout=CALL_TIMEOUT)

    (theirs, _), (ours, _) = _differential(proxy, call)
    assert theirs == ("raised", "ProxyError")
    assert ours == theirs
    proxy.mode = "normal"
    _assert_direct_works(session, httpbin)
    assert session.get(httpbin + "/get", proxies={"http": proxy.url}).status_code == 200


@needs_socks
@pytest.mark.parametrize("mode", ["socks-reject", "close-on-connect", "close"])
@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4a"])
def test_socks_proxy_failure_raises_connection_error(session, proxy, httpbin, mode, scheme):
    proxy.mode = mode
    with pytest.raises(exc.ConnectionError):
        session.get(
            httpbin + "/get", proxies={"http": proxy.proxy_url(scheme)}, timeout=CALL_TIMEOUT
        )
    _assert_direct_works(session, httpbin)


def test_session_keeps_working_after_a_series_of_proxy_errors(
    session, proxy, auth_proxy, httpbin, httpbin_secure, refused_url
):
    session.verify = False
    secure = httpbin_secure + "/get"
    failures = [
        lambda: session.get(httpbin + "/get", proxies={"http": refused_url}),
        lambda: session.get(secure, proxies={"https": refused_url}),
        lambda: session.get(secure, proxies={"https": auth_proxy.url}),
    ]
    for _ in range(2):
        for fail in failures:
            with pytest.raises(exc.ProxyError):
                fail()
        _assert_direct_works(session, httpbin)
        assert session.get(secure).status_code == 200
        r = session.get(httpbin + "/get", proxies={"http": proxy.url})
        assert r.json()["url"] == httpbin + "/get"
        r = session.get(secure, proxies={"https": auth_proxy.authed_url()})
        assert r.json()["url"] == secure
    assert len(proxy.records) == 2
    assert [r.authorized for r in auth_proxy.records] == [False, True, False, True]


# ---------------------------------------------------------------------------
# malformed proxy URLs: rejected before anything is sent
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("proxy_url", ["http://", "http://:8080", "://x", "https://"])
def test_proxy_url_without_host_raises_invalid_proxy_url(isolated_fault_server, proxy_url):
    with pytest.raises(exc.InvalidProxyURL):
        requestx.get(isolated_fault_server + "/ok", proxies={"http": proxy_url})
    assert isolated_fault_server.connections_accepted == 0


@pytest.mark.parametrize("proxy_url", ["ftp://x", "file:///tmp/p", "gopher://h:70"])
def test_proxy_url_with_unknown_scheme_is_rejected_like_requests(isolated_fault_server, proxy_url):
    # requests raises InvalidURL (urllib3's ProxySchemeUnknown) or, without a
    # host, InvalidProxyURL; requestx raises InvalidProxyURL, a subclass of both.
    def call(lib):
        return lib.get(isolated_fault_server + "/ok", proxies={"http": proxy_url})

    with pytest.raises(requests.exceptions.InvalidURL) as theirs:
        call(requests)
    with pytest.raises(exc.InvalidURL) as ours:
        call(requestx)
    assert isinstance(ours.value, getattr(exc, type(theirs.value).__name__))
    assert isolated_fault_server.connections_accepted == 0


@pytest.mark.requestx_only
@pytest.mark.parametrize("proxy_url", ["ftp://x", "socks6://127.0.0.1:1", "gopher://h:70"])
def test_proxy_url_with_unknown_scheme_raises_invalid_proxy_url(isolated_fault_server, proxy_url):
    with requestx.Session() as s:
        s.proxies = {"all": proxy_url}
        with pytest.raises(exc.InvalidProxyURL):
            s.get(isolated_fault_server + "/ok")
        with pytest.raises(exc.InvalidProxyURL):
            s.get("https://127.0.0.1:1/")
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_proxy_url_in_environment(set_env, isolated_fault_server):
    set_env(HTTP_PROXY="http://")
    with pytest.raises(exc.InvalidProxyURL):
        requestx.get(isolated_fault_server + "/ok")
    assert isolated_fault_server.connections_accepted == 0
