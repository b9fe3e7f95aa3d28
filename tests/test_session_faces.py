"""Session and AsyncSession, one behaviour at a time through each face
(``face`` fixture, tests/_session_faces.py): methods, params, headers, bodies,
session attributes, hooks, cookies, auth, errors, TLS and proxies.  Redirects,
the cookie rules on the wire, Digest auth and the environment have their own
modules, also run through both faces; what only AsyncSession does is in
test_async_basics.py."""

from __future__ import annotations

import io
import warnings

import pytest
from _helpers import connection_last, parse_wire, token
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx
from requestx import exceptions as exc

# ---------------------------------------------------------------------------
# requests and responses
# ---------------------------------------------------------------------------


def test_each_face_makes_its_calls_with_its_own_session_class(face, fault_server):
    with face.session() as s:
        assert type(s.session) is face.cls
        r = s.get(fault_server + "/ok")
    assert isinstance(r, requestx.Response)
    assert r.text == "ok\n"


def test_get_returns_a_response_with_the_json_body(face, httpbin):
    r = face.request("GET", httpbin + "/get")
    assert isinstance(r, requestx.Response)
    assert (r.status_code, r.reason, r.url, r.history) == (200, "OK", httpbin + "/get", [])
    assert r.request.method == "GET"
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["url"] == httpbin + "/get"


def test_params_and_headers_reach_the_server(face, httpbin):
    r = face.request(
        "GET",
        httpbin + "/anything",
        params={"q": "a b", "n": ["1", "2"]},
        headers={"X-Test": "yes"},
    )
    assert r.url == httpbin + "/anything?q=a+b&n=1&n=2"
    assert r.json()["args"] == {"q": "a b", "n": ["1", "2"]}
    assert r.json()["headers"]["X-Test"] == "yes"


def test_request_bytes_on_the_wire(face, fault_server):
    r = face.request(
        "POST",
        fault_server + "/echo-raw",
        params={"k": "v"},
        headers={"X-One": "1"},
        data={"field": "value"},
    )
    wire = parse_wire(r.content)
    defaults = requestx.utils.default_headers()
    assert wire.request_line == "POST /echo-raw?k=v HTTP/1.1"
    assert connection_last(wire.headers) == connection_last(
        [
            ("Host", f"{fault_server.host}:{fault_server.port}"),
            ("User-Agent", defaults["User-Agent"]),
            ("Accept-Encoding", defaults["Accept-Encoding"]),
            ("Accept", "*/*"),
            ("Connection", "keep-alive"),
            ("X-One", "1"),
            ("Content-Length", "11"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
    )
    assert wire.body == b"field=value"


def test_post_form(face, httpbin):
    r = face.request("POST", httpbin + "/post", data={"a": "1", "b": "2"})
    assert r.json()["form"] == {"a": "1", "b": "2"}
    assert r.json()["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_post_json(face, httpbin):
    r = face.request("POST", httpbin + "/post", json={"k": [1, 2, {"x": None}]})
    assert r.json()["json"] == {"k": [1, 2, {"x": None}]}
    assert r.json()["headers"]["Content-Type"] == "application/json"


def test_post_from_a_generator_body_is_sent_chunked(face, fault_server):
    def body():
        yield b"part one, "
        yield b"part two"

    t = token()
    face.request("POST", fault_server + f"/echo-raw?t={t}", data=body())
    [received] = fault_server.requests_with(t)
    assert received.body == b"part one, part two"
    assert received.header("Transfer-Encoding") == "chunked"
    assert received.header("Content-Length") is None


def test_multipart_files_and_fields(face, httpbin):
    files = {"upload": ("name.txt", b"file content\n", "text/plain")}
    r = face.request("POST", httpbin + "/post", files=files, data={"k": "v"})
    assert r.json()["files"] == {"upload": "file content\n"}
    assert r.json()["form"] == {"k": "v"}
    assert r.json()["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_send_their_body(face, httpbin, method):
    r = face.request(method, httpbin + "/anything", data=b"payload")
    assert r.json()["method"] == method
    assert r.json()["data"] == "payload"


def test_method_helpers_send_their_method(face, fault_server):
    with face.session() as s:
        for name in ("get", "post", "put", "patch", "delete", "options"):
            assert getattr(s, name)(fault_server + "/json").json()["method"] == name.upper()
        r = s.head(fault_server + "/json")
    assert (r.status_code, r.content) == (200, b"")


def test_head_has_headers_and_no_body(face, fault_server):
    r = face.request("HEAD", fault_server + "/big?size=5000")
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "5000"
    assert r.content == b""


def test_error_status_is_returned_not_raised(face, httpbin):
    r = face.request("GET", httpbin + "/status/418")
    assert (r.status_code, r.url, r.history) == (418, httpbin + "/status/418", [])
    assert not r.ok
    with pytest.raises(exc.HTTPError):
        r.raise_for_status()


def test_send_a_prepared_request(face, httpbin):
    req = requestx.Request("POST", httpbin + "/post", data={"x": "1"}, params={"p": "q"})
    with face.session() as s:
        r = s.send(s.prepare_request(req))
    assert r.json()["form"] == {"x": "1"}
    assert r.json()["args"] == {"p": "q"}


def test_send_refuses_an_unprepared_request(face, httpbin):
    with face.session() as s:
        with pytest.raises(ValueError, match="PreparedRequest"):
            s.send(requestx.Request("GET", httpbin + "/get"))


def test_response_connection_sends_on_the_same_session(face, fault_server):
    with face.session() as s:
        first = s.get(fault_server + "/conn-id")
        again = s.wait(first.connection.send(first.request))
    assert again.text.split()[0] == first.text.split()[0]  # the same pooled connection
    assert again.request.url == fault_server + "/conn-id"


# ---------------------------------------------------------------------------
# bodies, methods and headers on the wire (test_api.py checks them through the
# module functions)
# ---------------------------------------------------------------------------


def test_bytes_body_is_sent_verbatim_with_content_length(face, fault_server):
    payload = bytes(range(256))
    wire = parse_wire(face.request("POST", fault_server + "/echo-raw", data=payload).content)
    assert wire.body == payload
    assert wire.get("Content-Length") == "256"


def test_file_object_body_is_read_and_sized(face, fault_server):
    r = face.request("PUT", fault_server + "/echo-raw", data=io.BytesIO(b"from a file object"))
    wire = parse_wire(r.content)
    assert wire.body == b"from a file object"
    assert wire.get("Content-Length") == "18"
    assert "transfer-encoding" not in wire.names


def test_file_object_upload_uses_its_name(face, fault_server, tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(b"\x00\x01binary\xff")
    with open(path, "rb") as fh:
        r = face.request("POST", fault_server + "/echo-raw", files={"doc": fh})
    body = parse_wire(r.content).body
    assert b'name="doc"; filename="upload.bin"' in body
    assert b"\x00\x01binary\xff" in body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_body_method_without_body_sends_content_length_zero(face, fault_server, method):
    r = face.request(method, fault_server + "/echo-raw")
    assert parse_wire(r.content).get("Content-Length") == "0"


def test_get_without_body_sends_no_framing_header(face, fault_server):
    wire = parse_wire(face.request("GET", fault_server + "/echo-raw").content)
    assert "content-length" not in wire.names
    assert "transfer-encoding" not in wire.names


def test_method_name_is_uppercased_and_a_custom_one_sent_verbatim(face, fault_server):
    with face.session() as s:
        r = s.request("delete", fault_server + "/echo-raw")
        assert (parse_wire(r.content).method, r.request.method) == ("DELETE", "DELETE")
        assert parse_wire(s.request("PURGE", fault_server + "/echo-raw").content).method == "PURGE"


@pytest.mark.parametrize("name", ["get", "post", "put", "patch", "delete", "options"])
def test_method_after_head_on_the_same_connection(face, fault_server, name):
    """A pooled connection that just did a HEAD must not turn the next request
    into a HEAD (or expect no body)."""
    with face.session() as s:
        s.head(fault_server + "/echo-raw")
        r = getattr(s, name)(fault_server + "/echo-raw", data=b"after-head", timeout=2)
    wire = parse_wire(r.content)
    assert (wire.method, wire.body) == (name.upper(), b"after-head")


def test_head_with_body_keeps_framing_consistent(face, fault_server):
    """requests sends a HEAD body with its Content-Length, requestx sends HEAD
    without one (docs/compatibility.md); either way the framing matches what
    follows and the connection stays usable."""
    t = token()
    with face.session() as s:
        r = s.request("HEAD", fault_server + f"/echo-raw?t={t}", data=b"xyz", timeout=2)
        assert (r.status_code, r.content) == (200, b"")
        assert s.get(fault_server + "/ok", timeout=2).text == "ok\n"
    [received] = fault_server.requests_with(t)
    assert (received.header("Content-Length"), received.body) in [("3", b"xyz"), (None, b"")]


def test_url_fragment_is_dropped_and_a_non_ascii_path_percent_encoded(face, fault_server):
    with face.session() as s:
        assert parse_wire(s.get(fault_server + "/echo-raw?q=1#s").content).target == "/echo-raw?q=1"
        r = s.get(fault_server + "/echo-raw/\u00fc p")
    assert parse_wire(r.content).target == "/echo-raw/%C3%BC%20p"


def test_latin1_and_bytes_header_values_are_sent_as_given(face, fault_server):
    t = token()
    headers = {"X-Latin": "caf\u00e9", "X-Bytes": b"raw-bytes"}
    face.request("GET", fault_server + f"/echo-raw?t={t}", headers=headers)
    [received] = fault_server.requests_with(t)
    assert b"\r\nX-Latin: caf\xe9\r\n" in received.head
    assert received.header("X-Bytes") == "raw-bytes"


def test_json_nan_raises_invalid_json_error_before_sending(face, isolated_fault_server):
    url = isolated_fault_server + "/echo-raw"
    face.raises(exc.InvalidJSONError, "POST", url, json={"x": float("nan")})
    assert isolated_fault_server.connections_accepted == 0


def test_cookies_are_sent_in_one_cookie_header(face, fault_server):
    def setup(s):
        s.cookies.set("a", "1")

    r = face.request("GET", fault_server + "/echo-raw", setup=setup, cookies={"b": "2"})
    [cookie] = parse_wire(r.content).get_all("Cookie")
    assert sorted(cookie.split("; ")) == ["a=1", "b=2"]


def test_callable_auth_can_modify_the_request(face, fault_server):
    def add_token(prepared):
        prepared.headers["X-Token"] = "t0k3n"
        return prepared

    r = face.request("GET", fault_server + "/echo-raw", auth=add_token)
    assert parse_wire(r.content).get("X-Token") == "t0k3n"


# ---------------------------------------------------------------------------
# session attributes and hooks
# ---------------------------------------------------------------------------


def test_session_headers_params_and_auth_are_applied(face, httpbin):
    def setup(s):
        s.headers["X-Session"] = "s"
        s.params = {"sp": "1"}
        s.auth = ("user", "pw")

    body = face.request("GET", httpbin + "/anything", setup=setup, params={"rp": "2"}).json()
    assert body["headers"]["X-Session"] == "s"
    assert body["args"] == {"sp": "1", "rp": "2"}
    assert body["headers"]["Authorization"] == "Basic dXNlcjpwdw=="


def test_response_hook_runs_for_every_hop(face, httpbin):
    seen = []

    def setup(s):
        s.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))

    r = face.request("GET", httpbin + "/redirect/2", setup=setup)
    assert r.status_code == 200
    assert seen == [302, 302, 200]


def test_response_hook_return_value_replaces_the_response(face, httpbin):
    replacement = requestx.Response()
    replacement.status_code, replacement._content = 299, b"replaced"
    seen = []

    def hook(r, **kwargs):
        seen.append(r.status_code)
        return replacement

    r = face.request("GET", httpbin + "/get", hooks={"response": hook})
    assert seen == [200]
    assert r is replacement
    assert r.content == b"replaced"


# ---------------------------------------------------------------------------
# cookies and auth
# ---------------------------------------------------------------------------


def test_cookies_set_by_the_server_land_in_the_session_jar(face, fault_server):
    r = face.request("GET", fault_server + "/set-cookie?flavor=choco&size=big")
    assert r.session_cookies == {"flavor": "choco", "size": "big"}
    assert r.cookies.get("flavor") == "choco"


def test_session_and_request_cookies_are_sent(face, httpbin):
    def setup(s):
        s.cookies.set("sess", "1")

    r = face.request("GET", httpbin + "/cookies", setup=setup, cookies={"req": "2"})
    assert r.json() == {"cookies": {"sess": "1", "req": "2"}}
    assert r.session_cookies == {"sess": "1"}  # per-request cookies are not persisted


def test_cookie_jar_persists_between_requests(face, fault_server):
    with face.session() as s:
        s.get(fault_server + "/set-cookie?a=1")
        r = s.get(fault_server + "/echo-raw")
    assert parse_wire(r.content).get("Cookie") == "a=1"


def test_basic_auth(face, httpbin):
    r = face.request("GET", httpbin + "/basic-auth/user/pass", auth=("user", "pass"))
    assert r.status_code == 200
    assert r.json() == {"authenticated": True, "user": "user"}


def test_wrong_basic_auth_is_401(face, httpbin):
    r = face.request("GET", httpbin + "/basic-auth/user/pass", auth=("user", "nope"))
    assert r.status_code == 401


def test_auth_in_url(face, httpbin):
    url = httpbin.url.replace("://", "://user:pass@") + "/basic-auth/user/pass"
    assert face.request("GET", url).status_code == 200


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_refused_connection_raises_connection_error(face, refused_url):
    e = face.raises(exc.ConnectionError, "GET", refused_url + "/")
    assert not isinstance(e, exc.Timeout)
    assert e.request is not None and e.request.url == refused_url + "/"


@pytest.mark.parametrize("path", ["/short", "/bad-chunk", "/truncated-chunk"])
def test_broken_body_raises_chunked_encoding_error(face, fault_server, path):
    face.raises(exc.ChunkedEncodingError, "GET", fault_server + path)


@pytest.mark.parametrize("path", ["/close", "/reset"])
def test_no_response_raises_connection_error(face, fault_server, path):
    e = face.raises(exc.ConnectionError, "GET", fault_server + path)
    assert not isinstance(e, exc.ChunkedEncodingError)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("example.invalid/path", exc.MissingSchema),
        ("ftp://127.0.0.1/x", exc.InvalidSchema),
        ("http://", exc.InvalidURL),
        ("http://exa mple.com:notaport/", exc.InvalidURL),
    ],
)
def test_bad_url_raises_before_sending(face, url, expected):
    face.raises(expected, "GET", url)


@pytest.mark.parametrize(
    "headers", [{"X-Bad": "a\r\nInjected: 1"}, {"X-Bad": "a\nb"}, {"X:Bad": "1"}, {"X-Bad": 12}]
)
def test_invalid_header_raises_before_sending(face, isolated_fault_server, headers):
    face.raises(exc.InvalidHeader, "GET", isolated_fault_server + "/ok", headers=headers)
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_schema_sends_nothing(face, isolated_fault_server):
    url = isolated_fault_server.url.replace("http://", "gopher://") + "/ok"
    face.raises(exc.InvalidSchema, "GET", url)
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_timeout_raises_value_error(face, fault_server):
    face.raises(ValueError, "GET", fault_server + "/ok", timeout=-1)


def test_session_works_after_errors(face, fault_server, refused_url):
    outcomes = []
    with face.session() as s:
        for url in (refused_url + "/", fault_server + "/short", fault_server + "/reset"):
            try:
                s.get(url)
            except exc.RequestException as e:
                outcomes.append(type(e).__name__)
        r = s.get(fault_server + "/ok")
    assert outcomes == ["ConnectionError", "ChunkedEncodingError", "ConnectionError"]
    assert r.text == "ok\n"


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


def test_untrusted_ca_raises_ssl_error(face, tls_server):
    e = face.raises(exc.SSLError, "GET", tls_server + "/ok")
    assert isinstance(e, exc.ConnectionError)


def test_verify_with_ca_file(face, tls_server, tls_materials):
    r = face.request("GET", tls_server + "/json", verify=tls_materials.ca_file)
    assert r.json() == {"method": "GET", "path": "/json", "scheme": "https"}


def test_session_verify_ca_file(face, tls_server, tls_materials):
    def setup(s):
        s.verify = tls_materials.ca_file

    assert face.request("GET", tls_server + "/ok", setup=setup).text == "ok\n"


def test_verify_false(face, tls_server):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = face.request("GET", tls_server + "/ok", verify=False)
    assert r.text == "ok\n"


def test_hostname_mismatch_raises_ssl_error(face, tls_wrong_host_server, tls_materials):
    face.raises(exc.SSLError, "GET", tls_wrong_host_server + "/ok", verify=tls_materials.ca_file)


def test_client_certificate(face, tls_client_cert_server, tls_materials):
    cert = (tls_materials.client_cert_file, tls_materials.client_key_file)
    url = tls_client_cert_server + "/client-cert"
    r = face.request("GET", url, verify=tls_materials.ca_file, cert=cert)
    assert r.json()["client_cert"] is True


def test_https_to_httpbin_secure(face, httpbin_secure, tls_materials):
    r = face.request(
        "GET", httpbin_secure + "/get", verify=tls_materials.ca_file, params={"x": "1"}
    )
    assert r.json()["args"] == {"x": "1"}
    assert r.json()["url"] == httpbin_secure + "/get?x=1"


def test_missing_ca_path_raises_oserror(face, tls_server, tmp_path):
    face.raises(OSError, "GET", tls_server + "/ok", verify=str(tmp_path / "no-such-ca.pem"))


# ---------------------------------------------------------------------------
# proxies
# ---------------------------------------------------------------------------


def test_explicit_proxy(face, fault_server):
    r = face.request("GET", "http://example.invalid/x?y=1", proxies={"http": fault_server.url})
    assert r.json()["proxied"] is True
    assert r.json()["target"] == "http://example.invalid/x?y=1"


def test_session_proxy_with_credentials(face, fault_server):
    proxy = fault_server.url.replace("://", "://puser:ppass@")

    def setup(s):
        s.proxies = {"http": proxy}

    r = face.request("GET", "http://example.invalid/auth", setup=setup)
    assert r.json()["proxied"] is True
    assert r.json()["proxy_authorization"] == "Basic cHVzZXI6cHBhc3M="


def test_environment_proxy(face, fault_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", fault_server.url)
    r = face.request("GET", "http://example.invalid/env")
    assert r.json()["proxied"] is True
    assert r.json()["target"] == "http://example.invalid/env"


def test_environment_proxy_ignored_without_trust_env(face, fault_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")

    def setup(s):
        s.trust_env = False

    r = face.request("GET", fault_server + "/json", setup=setup)
    assert r.json() == {"method": "GET", "path": "/json", "scheme": "http"}


def test_unreachable_proxy_raises_proxy_error(face, refused_url, isolated_fault_server):
    face.raises(exc.ProxyError, "GET", isolated_fault_server + "/ok", proxies={"http": refused_url})
    assert isolated_fault_server.connections_accepted == 0
