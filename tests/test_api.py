"""The functional API: requestx.request/get/options/head/post/put/patch/delete
and their keyword arguments (params, data, json, headers, cookies, files, auth,
proxies, hooks).  Timeouts, redirects, streaming and TLS have their own modules.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from _helpers import parse_wire, token

import requestx

# ---------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------

FUNCTIONS = ["get", "options", "head", "post", "put", "patch", "delete"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_method_function_sends_its_method(fault_server, name):
    t = token()
    r = getattr(requestx, name)(fault_server + f"/echo-raw?t={t}")
    assert r.status_code == 200
    [received] = fault_server.requests_with(t)
    assert received.method == name.upper()


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n != "head"])
def test_method_function_returns_the_body(fault_server, name):
    r = getattr(requestx, name)(fault_server + "/echo-raw")
    assert parse_wire(r.content).method == name.upper()


def test_head_returns_headers_without_body(fault_server):
    r = requestx.head(fault_server + "/big?size=5000")
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "5000"
    assert r.content == b""


def test_head_with_body_does_not_wait_for_a_response_body(fault_server):
    r = requestx.request("HEAD", fault_server + "/echo-raw", data=b"xyz", timeout=2)
    assert r.status_code == 200
    assert r.content == b""


def test_head_with_body_keeps_framing_consistent(session, fault_server):
    """requests sends a HEAD body with its Content-Length; requestx
    deliberately sends HEAD without a body (docs/compatibility.md).  Either
    way the Content-Length on the wire must match what follows it, and the
    connection must stay usable."""
    t = token()
    session.request("HEAD", fault_server + f"/echo-raw?t={t}", data=b"xyz", timeout=2)
    [received] = fault_server.requests_with(t)
    assert (received.header("Content-Length"), received.body) in [("3", b"xyz"), (None, b"")]
    assert session.get(fault_server + "/ok", timeout=2).text == "ok\n"


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n != "head"])
def test_method_after_head_on_same_connection(session, fault_server, name):
    """A pooled connection/handle that just did a HEAD must not turn the next
    request into a HEAD (or expect no body)."""
    session.head(fault_server + "/echo-raw")
    r = getattr(session, name)(fault_server + "/echo-raw", data=b"after-head", timeout=2)
    wire = parse_wire(r.content)
    assert wire.method == name.upper()
    assert wire.body == b"after-head"


def test_request_function_takes_method_name(fault_server):
    r = requestx.request("PATCH", fault_server + "/echo-raw")
    assert parse_wire(r.content).method == "PATCH"


def test_request_method_name_is_uppercased(fault_server):
    r = requestx.request("delete", fault_server + "/echo-raw")
    assert parse_wire(r.content).method == "DELETE"
    assert r.request.method == "DELETE"


def test_custom_method_is_sent_verbatim(fault_server):
    r = requestx.request("PURGE", fault_server + "/echo-raw")
    assert parse_wire(r.content).method == "PURGE"


def test_uppercase_scheme_is_accepted(fault_server):
    url = fault_server.url.replace("http://", "HTTP://") + "/ok"
    assert requestx.get(url).text == "ok\n"


# ---------------------------------------------------------------------------
# params
# ---------------------------------------------------------------------------


def test_params_dict_is_encoded_into_the_query(httpbin):
    r = requestx.get(httpbin + "/get", params={"a": "1", "b": "two"})
    assert r.url == httpbin + "/get?a=1&b=two"
    assert r.json()["args"] == {"a": "1", "b": "two"}


def test_params_list_value_repeats_the_key(httpbin):
    r = requestx.get(httpbin + "/get", params={"k": ["1", "2"]})
    assert r.url == httpbin + "/get?k=1&k=2"


def test_params_list_of_tuples_keeps_order(httpbin):
    r = requestx.get(httpbin + "/get", params=[("z", "1"), ("a", "2"), ("z", "3")])
    assert r.url == httpbin + "/get?z=1&a=2&z=3"


def test_params_none_value_is_dropped(httpbin):
    r = requestx.get(httpbin + "/get", params={"keep": "1", "drop": None})
    assert r.url == httpbin + "/get?keep=1"


def test_params_are_appended_to_existing_query(httpbin):
    r = requestx.get(httpbin + "/get?a=1", params={"b": "2"})
    assert r.url == httpbin + "/get?a=1&b=2"


def test_params_special_characters_are_form_encoded(httpbin):
    r = requestx.get(httpbin + "/get", params={"q": "a b&c/é"})
    assert r.url == httpbin + "/get?q=a+b%26c%2F%C3%A9"
    assert r.json()["args"] == {"q": "a b&c/é"}


def test_params_string_is_used_as_is(httpbin):
    r = requestx.get(httpbin + "/get", params="x=1&y=2")
    assert r.url == httpbin + "/get?x=1&y=2"


def test_params_reach_the_server(fault_server):
    r = requestx.get(fault_server + "/echo-raw", params={"x": "1"})
    assert parse_wire(r.content).target == "/echo-raw?x=1"


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


def test_data_dict_is_form_encoded(httpbin):
    r = requestx.post(httpbin + "/post", data={"a": "1", "b": "x y"})
    body = r.json()
    assert body["form"] == {"a": "1", "b": "x y"}
    assert body["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_data_list_of_tuples_repeats_keys(fault_server):
    r = requestx.post(fault_server + "/echo-raw", data=[("k", "1"), ("k", "2")])
    assert parse_wire(r.content).body == b"k=1&k=2"


def test_data_bytes_sent_verbatim_with_content_length(fault_server):
    payload = bytes(range(256))
    r = requestx.post(fault_server + "/echo-raw", data=payload)
    wire = parse_wire(r.content)
    assert wire.body == payload
    assert wire.get("Content-Length") == "256"


def test_data_str_sent_without_content_type(fault_server):
    r = requestx.post(fault_server + "/echo-raw", data="plain text")
    wire = parse_wire(r.content)
    assert wire.body == b"plain text"
    assert "content-type" not in wire.names


def test_data_file_object_is_read_and_sized(fault_server):
    r = requestx.put(fault_server + "/echo-raw", data=io.BytesIO(b"from a file object"))
    wire = parse_wire(r.content)
    assert wire.body == b"from a file object"
    assert wire.get("Content-Length") == "18"


def test_data_generator_is_sent_chunked(fault_server):
    def gen():
        yield b"part one, "
        yield b"part two"

    t = token()
    requestx.post(fault_server + f"/echo-raw?t={t}", data=gen())
    [received] = fault_server.requests_with(t)
    assert received.header("Transfer-Encoding") == "chunked"
    assert received.body == b"part one, part two"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_body_method_without_body_sends_content_length_zero(fault_server, method):
    r = requestx.request(method, fault_server + "/echo-raw")
    assert parse_wire(r.content).get("Content-Length") == "0"


def test_get_without_body_sends_no_content_length(fault_server):
    r = requestx.get(fault_server + "/echo-raw")
    wire = parse_wire(r.content)
    assert "content-length" not in wire.names
    assert "transfer-encoding" not in wire.names


# ---------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------


def test_json_body_is_serialised_with_content_type(httpbin):
    doc = {"name": "requestx", "n": [1, 2, 3], "nested": {"ok": True}, "u": "ünï"}
    r = requestx.post(httpbin + "/post", json=doc)
    body = r.json()
    assert body["json"] == doc
    assert body["headers"]["Content-Type"] == "application/json"


def test_json_body_is_utf8_on_the_wire(fault_server):
    r = requestx.post(fault_server + "/echo-raw", json={"u": "é"})
    assert json.loads(parse_wire(r.content).body.decode("utf-8")) == {"u": "é"}


def test_data_takes_precedence_over_json(fault_server):
    r = requestx.post(fault_server + "/echo-raw", data={"form": "1"}, json={"json": 1})
    assert parse_wire(r.content).body == b"form=1"


def test_json_nan_raises_invalid_json_error(isolated_fault_server):
    with pytest.raises(requestx.exceptions.InvalidJSONError):
        requestx.post(isolated_fault_server + "/echo-raw", json={"x": float("nan")})
    assert isolated_fault_server.connections_accepted == 0


# ---------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------


def test_custom_header_is_sent(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"X-Custom": "value 1; two"})
    assert parse_wire(r.content).get("X-Custom") == "value 1; two"


def test_header_name_case_is_preserved_on_the_wire(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"x-MiXeD-CaSe": "1"})
    assert ("x-MiXeD-CaSe", "1") in parse_wire(r.content).headers


def test_header_overrides_default(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"accept": "text/html"})
    assert parse_wire(r.content).get_all("Accept") == ["text/html"]


def test_empty_header_value_is_sent(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"X-Empty": ""})
    assert parse_wire(r.content).get_all("X-Empty") == [""]


def test_url_fragment_is_not_sent(fault_server):
    r = requestx.get(fault_server + "/echo-raw?q=1#section-2")
    assert parse_wire(r.content).target == "/echo-raw?q=1"


def test_non_ascii_path_is_percent_encoded_on_the_wire(fault_server):
    r = requestx.get(fault_server + "/echo-raw/ü p")
    assert parse_wire(r.content).target == "/echo-raw/%C3%BC%20p"


def test_credentials_in_url_become_basic_auth(httpbin):
    url = f"http://alice:s3cret@{httpbin.host}:{httpbin.port}/basic-auth/alice/s3cret"
    assert requestx.get(url).status_code == 200


def test_latin1_header_value_is_sent_as_latin1(fault_server):
    t = token()
    requestx.get(fault_server + f"/echo-raw?t={t}", headers={"X-Latin": "café"})
    [received] = fault_server.requests_with(t)
    assert b"\r\nX-Latin: caf\xe9\r\n" in received.head


def test_bytes_header_value_is_accepted(fault_server):
    r = requestx.get(fault_server + "/echo-raw", headers={"X-Bytes": b"raw-bytes"})
    assert parse_wire(r.content).get("X-Bytes") == "raw-bytes"


# ---------------------------------------------------------------------------
# cookies
# ---------------------------------------------------------------------------


def test_cookies_dict_is_sent(httpbin):
    r = requestx.get(httpbin + "/cookies", cookies={"a": "1", "b": "2"})
    assert r.json()["cookies"] == {"a": "1", "b": "2"}


def test_cookies_are_sent_in_one_cookie_header(fault_server):
    r = requestx.get(fault_server + "/echo-raw", cookies={"a": "1", "b": "2"})
    cookie_headers = parse_wire(r.content).get_all("Cookie")
    assert len(cookie_headers) == 1
    assert sorted(cookie_headers[0].split("; ")) == ["a=1", "b=2"]


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def test_files_tuple_is_uploaded_as_multipart(httpbin):
    files = {"upload": ("hello.txt", b"hello world", "text/plain")}
    r = requestx.post(httpbin + "/post", files=files)
    body = r.json()
    assert body["files"] == {"upload": "hello world"}
    assert body["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")


def test_files_with_data_sends_both(httpbin):
    r = requestx.post(
        httpbin + "/post", data={"field": "value"}, files={"f": ("f.txt", b"content")}
    )
    body = r.json()
    assert body["form"] == {"field": "value"}
    assert body["files"] == {"f": "content"}


def test_file_object_upload_uses_its_name(fault_server, tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(b"\x00\x01binary\xff")
    with open(path, "rb") as fh:
        r = requestx.post(fault_server + "/echo-raw", files={"doc": fh})
    body = parse_wire(r.content).body
    assert b'name="doc"; filename="upload.bin"' in body
    assert b"\x00\x01binary\xff" in body


def test_files_bare_bytes_use_field_name_as_filename(fault_server):
    r = requestx.post(fault_server + "/echo-raw", files={"blob": b"data"})
    assert b'name="blob"; filename="blob"' in parse_wire(r.content).body


# ---------------------------------------------------------------------------
# auth
# ---------------------------------------------------------------------------


def test_auth_tuple_sends_basic_authorization(fault_server):
    r = requestx.get(fault_server + "/echo-raw", auth=("user", "pass"))
    expected = "Basic " + base64.b64encode(b"user:pass").decode()
    assert parse_wire(r.content).get("Authorization") == expected


def test_auth_tuple_passes_basic_auth_endpoint(httpbin):
    r = requestx.get(httpbin + "/basic-auth/alice/s3cret", auth=("alice", "s3cret"))
    assert r.status_code == 200
    assert r.json() == {"authenticated": True, "user": "alice"}


def test_http_basic_auth_object_passes(httpbin):
    auth = requestx.auth.HTTPBasicAuth("alice", "s3cret")
    r = requestx.get(httpbin + "/basic-auth/alice/s3cret", auth=auth)
    assert r.status_code == 200


def test_wrong_credentials_get_401(httpbin):
    r = requestx.get(httpbin + "/basic-auth/alice/s3cret", auth=("alice", "wrong"))
    assert r.status_code == 401


def test_callable_auth_can_modify_the_request(fault_server):
    def add_token(prepared):
        prepared.headers["X-Token"] = "t0k3n"
        return prepared

    r = requestx.get(fault_server + "/echo-raw", auth=add_token)
    assert parse_wire(r.content).get("X-Token") == "t0k3n"


def test_digest_auth_passes(httpbin):
    if not hasattr(requestx.auth, "HTTPDigestAuth"):
        pytest.skip("requestx.auth.HTTPDigestAuth not provided")
    auth = requestx.auth.HTTPDigestAuth("user", "passwd")
    r = requestx.get(httpbin + "/digest-auth/auth/user/passwd", auth=auth)
    assert r.status_code == 200


# ---------------------------------------------------------------------------
# proxies
# ---------------------------------------------------------------------------


def test_http_proxy_receives_absolute_form_request(fault_server, refused_url):
    target = refused_url + "/via/proxy?x=1"
    r = requestx.get(target, proxies={"http": fault_server.url})
    body = r.json()
    assert body["proxied"] is True
    assert body["target"] == target


def test_proxy_for_other_scheme_is_not_used(httpbin, fault_server):
    r = requestx.get(httpbin + "/get", proxies={"https": fault_server.url})
    assert "proxied" not in r.json()
    assert r.json()["url"] == httpbin + "/get"


def test_proxy_credentials_become_proxy_authorization(fault_server, refused_url):
    proxy = f"http://puser:ppass@{fault_server.host}:{fault_server.port}"
    r = requestx.get(refused_url + "/x", proxies={"http": proxy})
    expected = "Basic " + base64.b64encode(b"puser:ppass").decode()
    assert r.json()["proxy_authorization"] == expected


def test_all_proxy_key_applies_to_http(fault_server, refused_url):
    r = requestx.get(refused_url + "/x", proxies={"all": fault_server.url})
    assert r.json()["proxied"] is True


def test_proxy_scheme_and_host_key_selects_proxy(fault_server, refused_url):
    host_key = "http://127.0.0.1"  # requests' per-host key: scheme://hostname, no port
    r = requestx.get(refused_url + "/x", proxies={host_key: fault_server.url})
    assert r.json()["proxied"] is True


# ---------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------


def test_response_hook_receives_the_response(httpbin):
    seen = []

    def hook(r, *args, **kwargs):
        seen.append(r.status_code)

    r = requestx.get(httpbin + "/status/201", hooks={"response": hook})
    assert r.status_code == 201
    assert seen == [201]


def test_response_hook_return_value_replaces_response(httpbin):
    def hook(r, *args, **kwargs):
        r.hooked = True
        return r

    r = requestx.get(httpbin + "/get", hooks={"response": hook})
    assert getattr(r, "hooked", False) is True


def test_response_hook_list_runs_in_order(httpbin):
    order = []
    hooks = {"response": [lambda r, **kw: order.append("a"), lambda r, **kw: order.append("b")]}
    requestx.get(httpbin + "/get", hooks=hooks)
    assert order == ["a", "b"]


def test_response_hook_runs_for_every_redirect_hop(httpbin):
    statuses = []
    r = requestx.get(
        httpbin + "/redirect/2", hooks={"response": lambda r, **kw: statuses.append(r.status_code)}
    )
    assert r.status_code == 200
    assert statuses == [302, 302, 200]
