"""Redirect handling, as requests does it, through both faces (``face``:
Session and AsyncSession, tests/_session_faces.py)."""

from __future__ import annotations

import pytest
from _helpers import parse_wire, token
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx

# ---------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------


def test_every_hop_is_in_history(face, httpbin):
    r = face.request("GET", httpbin + "/redirect/3")
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert r.url == httpbin + "/get"
    assert [h.url for h in r.history] == [
        httpbin + "/redirect/3",
        httpbin + "/relative-redirect/2",
        httpbin + "/relative-redirect/1",
    ]


def test_each_hop_carries_the_history_before_it(face, httpbin):
    r = face.request("GET", httpbin + "/redirect/3")
    assert [len(h.history) for h in r.history] == [0, 1, 2]
    assert r.history[2].history == r.history[:2]


def test_history_urls_are_the_hops_in_order(face, httpbin):
    r = face.request("GET", httpbin + "/absolute-redirect/2")
    assert [h.url for h in r.history] == [
        httpbin + "/absolute-redirect/2",
        httpbin + "/absolute-redirect/1",
    ]


def test_history_items_are_responses_with_location(face, httpbin):
    r = face.request("GET", httpbin + "/redirect/2")
    assert all(isinstance(h, requestx.Response) for h in r.history)
    assert r.history[0].headers["Location"]


def test_history_requests_match_their_urls(face, httpbin):
    r = face.request("GET", httpbin + "/absolute-redirect/2")
    assert [h.request.url for h in r.history] == [h.url for h in r.history]
    assert r.request.url == r.url


def test_relative_location_is_resolved_against_request_url(face, httpbin):
    r = face.request("GET", httpbin + "/relative-redirect/2")
    assert r.url == httpbin + "/get"
    assert len(r.history) == 2


def test_relative_location_without_leading_slash(face, fault_server):
    r = face.request("GET", fault_server + "/redirect?location=ok")
    assert r.url == fault_server + "/ok"
    assert r.text == "ok\n"


def test_scheme_relative_location(face, fault_server):
    location = f"//{fault_server.host}:{fault_server.port}/ok"
    r = face.request("GET", fault_server + "/redirect", params={"location": location})
    assert r.url == fault_server + "/ok"


def test_utf8_location_is_followed_percent_encoded(face, fault_server):
    r = face.request("GET", fault_server + "/redirect-utf8-location", timeout=2)
    assert r.url == fault_server + "/echo-raw/%C3%BC"
    assert r.content.startswith(b"GET /echo-raw/%C3%BC HTTP/1.1")


def test_allow_redirects_false_returns_the_redirect(face, httpbin):
    r = face.request("GET", httpbin + "/redirect/1", allow_redirects=False)
    assert r.status_code == 302
    assert r.history == []
    assert r.headers["Location"] == "/get"
    assert r.is_redirect


def test_allow_redirects_false_exposes_next_request(face, httpbin):
    r = face.request("GET", httpbin + "/redirect/1", allow_redirects=False)
    assert r.next.url == httpbin + "/get"


def test_head_does_not_follow_redirects_by_default(face, httpbin):
    with face.session() as s:
        r = s.head(httpbin + "/redirect/1")
    assert r.status_code == 302


def test_head_follows_redirects_when_asked(face, httpbin):
    r = face.request("HEAD", httpbin + "/redirect/1", allow_redirects=True)
    assert r.status_code == 200
    assert r.request.method == "HEAD"


def test_options_follows_redirects_by_default(face, fault_server):
    with face.session() as s:
        r = s.options(fault_server + "/redirect?status=307&location=/echo-raw")
    assert r.status_code == 200
    assert parse_wire(r.content).method == "OPTIONS"


# ---------------------------------------------------------------------------
# method rewriting
# ---------------------------------------------------------------------------


def _redirect_to_anything(httpbin, status):
    return httpbin + f"/redirect-to?url=/anything&status_code={status}"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_becomes_get(face, httpbin, status):
    r = face.request("POST", _redirect_to_anything(httpbin, status), data={"a": "1"})
    body = r.json()
    assert body["method"] == "GET"
    assert body["form"] == {}
    assert body["data"] == ""
    assert r.request.method == "GET"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_redirected_as_get_drops_body_headers(face, httpbin, status):
    r = face.request("POST", _redirect_to_anything(httpbin, status), data={"a": "1"})
    headers = r.json()["headers"]
    assert "Content-Type" not in headers
    assert "Content-Length" not in headers or headers["Content-Length"] == "0"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_302_turns_other_methods_into_get(face, httpbin, method):
    r = face.request(method, _redirect_to_anything(httpbin, 302), data=b"x")
    assert r.json()["method"] == "GET"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_303_turns_other_methods_into_get(face, httpbin, method):
    r = face.request(method, _redirect_to_anything(httpbin, 303), data=b"x")
    assert r.json()["method"] == "GET"


def test_303_keeps_head(face, httpbin):
    r = face.request("HEAD", _redirect_to_anything(httpbin, 303), allow_redirects=True)
    assert r.status_code == 200
    assert r.request.method == "HEAD"


def test_301_keeps_put_method_but_drops_body(face, httpbin):
    r = face.request("PUT", _redirect_to_anything(httpbin, 301), data=b"payload")
    body = r.json()
    assert body["method"] == "PUT"
    assert body["data"] == ""


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_307_308_keep_method_and_body(face, httpbin, status, method):
    r = face.request(method, _redirect_to_anything(httpbin, status), data=b"keep me")
    body = r.json()
    assert body["method"] == method
    assert body["data"] == "keep me"
    assert [h.status_code for h in r.history] == [status]


@pytest.mark.parametrize("status", [307, 308])
def test_307_308_resend_the_same_bytes(face, fault_server, status):
    t = token()
    url = fault_server + f"/redirect?status={status}&location=/echo-raw%3Ft%3D{t}"
    r = face.request("POST", url, json={"k": "v"})
    wire = parse_wire(r.content)
    assert wire.request_line == f"POST /echo-raw?t={t} HTTP/1.1"
    assert wire.body == b'{"k": "v"}'
    assert wire.get("Content-Type") == "application/json"
    assert wire.get("Content-Length") == "10"
    sent = fault_server.requests_with(t)  # the redirect's target names the token too
    assert [(r.method, r.body) for r in sent] == [("POST", b'{"k": "v"}')] * 2


@pytest.mark.parametrize("status", [307, 308])
def test_307_308_keep_json_body_and_content_type(face, httpbin, status):
    r = face.request("POST", _redirect_to_anything(httpbin, status), json={"k": [1, 2]})
    body = r.json()
    assert body["json"] == {"k": [1, 2]}
    assert body["headers"]["Content-Type"] == "application/json"


# ---------------------------------------------------------------------------
# limits
# ---------------------------------------------------------------------------


def test_redirect_loop_raises_too_many_redirects(face, fault_server):
    with pytest.raises(requestx.exceptions.TooManyRedirects, match="Exceeded 30 redirects"):
        face.request("GET", fault_server + "/redirect-loop")


def test_too_many_redirects_carries_last_response(face, fault_server):
    with pytest.raises(requestx.TooManyRedirects) as info:
        face.request("GET", fault_server + "/redirect-loop")
    assert info.value.response is not None
    assert info.value.response.status_code == 302


def test_redirect_loop_stops_after_max_redirects_plus_one_requests(face, isolated_fault_server):
    def setup(s):
        s.max_redirects = 5

    e = face.raises(
        requestx.TooManyRedirects, "GET", isolated_fault_server + "/redirect-loop", setup=setup
    )
    assert "Exceeded 5 redirects" in str(e)
    assert len(isolated_fault_server.requests_to("/redirect-loop")) == 6


# ---------------------------------------------------------------------------
# Authorization across hosts and schemes
# ---------------------------------------------------------------------------


def test_authorization_kept_on_same_host_redirect(face, httpbin):
    r = face.request(
        "GET", httpbin + "/redirect-to", params={"url": "/headers"}, auth=("user", "pass")
    )
    assert r.json()["headers"]["Authorization"].startswith("Basic ")


def test_authorization_dropped_when_host_changes(face, httpbin):
    target = httpbin.url_for_host("localhost") + "/headers"
    r = face.request("GET", httpbin + "/redirect-to", params={"url": target}, auth=("user", "pass"))
    assert r.url == target
    assert "Authorization" not in r.json()["headers"]


def test_explicit_authorization_header_dropped_when_host_changes(face, httpbin):
    target = httpbin.url_for_host("localhost") + "/headers"
    r = face.request(
        "GET",
        httpbin + "/redirect-to",
        params={"url": target},
        headers={"Authorization": "Bearer secret-token"},
    )
    assert "Authorization" not in r.json()["headers"]


def test_authorization_dropped_when_scheme_changes(face, httpbin, httpbin_secure, tls_materials):
    target = httpbin_secure + "/headers"
    r = face.request(
        "GET",
        httpbin + "/redirect-to",
        params={"url": target},
        auth=("user", "pass"),
        verify=tls_materials.ca_file,
    )
    assert r.url == target
    assert "Authorization" not in r.json()["headers"]


def test_other_headers_survive_host_change(face, httpbin):
    target = httpbin.url_for_host("localhost") + "/headers"
    r = face.request(
        "GET", httpbin + "/redirect-to", params={"url": target}, headers={"X-Keep": "1"}
    )
    assert r.json()["headers"]["X-Keep"] == "1"


def test_host_header_follows_the_redirect(face, httpbin):
    target = httpbin.url_for_host("localhost") + "/headers"
    r = face.request("GET", httpbin + "/redirect-to", params={"url": target})
    assert r.json()["headers"]["Host"] == f"localhost:{httpbin.port}"


# ---------------------------------------------------------------------------
# refused targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ftp", "file", "gopher", "dict", "telnet", "ldap", "scp"])
def test_redirect_to_non_http_scheme_is_refused(face, fault_server, isolated_fault_server, scheme):
    location = f"{scheme}://127.0.0.1:{isolated_fault_server.port}/target"
    with pytest.raises(requestx.exceptions.InvalidSchema):
        face.request("GET", fault_server + "/redirect", params={"location": location})
    assert isolated_fault_server.connections_accepted == 0


def test_redirect_to_file_url_does_not_read_local_file(face, fault_server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not leak")
    with pytest.raises(requestx.exceptions.InvalidSchema):
        face.request("GET", fault_server + "/redirect", params={"location": secret.as_uri()})
