"""requestx.Session: persistent settings, cookies, pooling and lifecycle,
most of it through both faces (``face``: Session and AsyncSession,
tests/_session_faces.py)."""

from __future__ import annotations

import base64
import time

import pytest
from _helpers import parse_wire, token, wait_until
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx


def test_session_defaults_match_requests():
    import requests

    ours, theirs = requestx.Session(), requests.Session()
    try:
        for attr in ("auth", "proxies", "params", "stream", "verify", "cert", "trust_env"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert ours.max_redirects == theirs.max_redirects == 30
        assert {k.lower() for k in ours.headers} == {k.lower() for k in theirs.headers}
    finally:
        ours.close()
        theirs.close()


def test_session_headers_are_a_case_insensitive_dict(face):
    with face.session() as session:
        assert isinstance(session.headers, requestx.structures.CaseInsensitiveDict)
        assert session.headers["accept"] == session.headers["ACCEPT"] == "*/*"


def test_session_function_returns_a_session():
    s = requestx.session()
    try:
        assert isinstance(s, requestx.Session)
    finally:
        s.close()


def test_sessions_share_nothing_mutable(fault_server):
    """Sessions share their defaults' immutable parts (header pairs, engine
    settings) but never a mapping one of them may change."""
    a, b = requestx.Session(), requestx.Session()
    try:
        a.headers["X-Only-A"] = "1"
        a.hooks["response"].append(lambda r, **kw: None)
        a.proxies["ftp"] = "http://proxy.invalid"
        a.params["p"] = "1"
        assert "X-Only-A" not in b.headers and "X-Only-A" not in requestx.utils.default_headers()
        assert b.hooks == {"response": []} and b.proxies == {} and b.params == {}
        assert a.get(fault_server + "/echo-head").content.count(b"X-Only-A: 1") == 1
        assert b"X-Only-A" not in b.get(fault_server + "/echo-head").content
        b.hooks = None
        assert b.hooks is None
        assert b.get(fault_server + "/ok").status_code == 200
    finally:
        a.close()
        b.close()


def test_each_session_checks_its_ca_file(face, tls_server, tls_materials, tmp_path):
    """Sessions share engine settings, but a CA bundle that has gone away
    fails the next session's first request, as before."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(open(tls_materials.ca_file, "rb").read())
    with face.session() as s:
        s.verify = str(ca)
        assert s.get(tls_server + "/ok").status_code == 200
    ca.unlink()
    with face.session() as s:
        s.verify = str(ca)
        with pytest.raises(OSError, match="CA certificate bundle"):
            s.get(tls_server + "/ok")


# ---------------------------------------------------------------------------
# headers
# ---------------------------------------------------------------------------


def test_session_headers_are_sent(face, fault_server):
    with face.session() as session:
        session.headers["X-Session"] = "yes"
        r = session.get(fault_server + "/echo-raw")
        assert parse_wire(r.content).get("X-Session") == "yes"


def test_request_header_overrides_session_header(face, fault_server):
    with face.session() as session:
        session.headers["X-Which"] = "session"
        r = session.get(fault_server + "/echo-raw", headers={"X-Which": "request"})
        assert parse_wire(r.content).get_all("X-Which") == ["request"]


def test_request_header_none_removes_session_header(face, fault_server):
    with face.session() as session:
        session.headers["X-Remove-Me"] = "present"
        r = session.get(fault_server + "/echo-raw", headers={"X-Remove-Me": None})
        assert "x-remove-me" not in parse_wire(r.content).names


def test_session_header_update_applies_to_later_requests(face, fault_server):
    with face.session() as session:
        session.get(fault_server + "/ok")
        session.headers.update({"X-Later": "1"})
        r = session.get(fault_server + "/echo-raw")
        assert parse_wire(r.content).get("X-Later") == "1"


# ---------------------------------------------------------------------------
# cookies
# ---------------------------------------------------------------------------


def test_session_stores_cookies_from_responses(face, httpbin):
    with face.session() as session:
        session.get(httpbin + "/cookies/set?flavor=oatmeal")
        assert session.cookies.get("flavor") == "oatmeal"


def test_session_sends_stored_cookies(face, httpbin):
    with face.session() as session:
        session.get(httpbin + "/cookies/set?flavor=oatmeal")
        r = session.get(httpbin + "/cookies")
        assert r.json()["cookies"] == {"flavor": "oatmeal"}


def test_session_cookie_set_by_hand_is_sent(face, httpbin):
    with face.session() as session:
        session.cookies.set("manual", "42")
        r = session.get(httpbin + "/cookies")
        assert r.json()["cookies"] == {"manual": "42"}


def test_per_request_cookies_are_not_persisted(face, httpbin):
    with face.session() as session:
        r = session.get(httpbin + "/cookies", cookies={"once": "1"})
        assert r.json()["cookies"] == {"once": "1"}
        assert "once" not in session.cookies
        assert session.get(httpbin + "/cookies").json()["cookies"] == {}


def test_session_cookie_deleted_by_server_is_removed(face, httpbin):
    with face.session() as session:
        session.get(httpbin + "/cookies/set?gone=1")
        session.get(httpbin + "/cookies/delete?gone")
        assert "gone" not in session.cookies


def test_cookie_set_during_redirect_is_stored_in_session(face, fault_server):
    with face.session() as session:
        r = session.get(fault_server + "/cookie-redirect")
        assert r.status_code == 200
        assert session.cookies.get("flavor") == "choco"


def test_cookie_set_during_redirect_is_sent_to_next_hop(face, fault_server):
    r = face.request("GET", fault_server + "/cookie-redirect")
    assert r.session_cookies == {"flavor": "choco"}
    assert parse_wire(r.content).get("Cookie") == "flavor=choco"


def test_multiple_set_cookie_headers_all_stored(face, fault_server):
    with face.session() as session:
        session.get(fault_server + "/multi-header")
        assert session.cookies.get("first") == "1"
        assert session.cookies.get("second") == "2"


# ---------------------------------------------------------------------------
# auth, params, proxies, hooks, stream
# ---------------------------------------------------------------------------


def test_session_auth_is_applied(face, httpbin):
    with face.session() as session:
        session.auth = ("alice", "s3cret")
        assert session.get(httpbin + "/basic-auth/alice/s3cret").status_code == 200


def test_request_auth_overrides_session_auth(face, fault_server):
    with face.session() as session:
        session.auth = ("session", "pw")
        r = session.get(fault_server + "/echo-raw", auth=("request", "pw"))
        expected = "Basic " + base64.b64encode(b"request:pw").decode()
        assert parse_wire(r.content).get_all("Authorization") == [expected]


def test_session_params_are_merged_with_request_params(face, httpbin):
    with face.session() as session:
        session.params = {"s": "1"}
        r = session.get(httpbin + "/get", params={"r": "2"})
        assert r.json()["args"] == {"s": "1", "r": "2"}


def test_session_proxies_are_used(face, fault_server, refused_url):
    with face.session() as session:
        session.proxies = {"http": fault_server.url}
        r = session.get(refused_url + "/through/session/proxy")
        assert r.json()["target"] == refused_url + "/through/session/proxy"


def test_session_response_hook_runs_for_each_request(face, httpbin):
    with face.session() as session:
        seen = []
        session.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))
        session.get(httpbin + "/status/200")
        session.get(httpbin + "/status/404")
        assert seen == [200, 404]


def test_session_stream_true_returns_before_body_is_complete(session, fault_server):
    t = token()
    session.stream = True
    r = session.get(fault_server + f"/slow-chunks?gate={t}")
    gate = fault_server.gate(t)
    try:
        assert r.status_code == 200
        assert not gate.second_sent.is_set()
    finally:
        gate.open()
    r.close()


# ---------------------------------------------------------------------------
# redirects, trust_env
# ---------------------------------------------------------------------------


def test_session_max_redirects_allows_that_many(face, httpbin):
    with face.session() as session:
        session.max_redirects = 2
        r = session.get(httpbin + "/redirect/2")
        assert r.status_code == 200
        assert len(r.history) == 2


def test_session_max_redirects_exceeded_raises(face, httpbin):
    with face.session() as session:
        session.max_redirects = 2
        with pytest.raises(requestx.exceptions.TooManyRedirects, match="Exceeded 2 redirects"):
            session.get(httpbin + "/redirect/3")


def _set_proxy_env(monkeypatch, proxy_url):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy_url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_trust_env_uses_proxy_from_environment(face, monkeypatch, fault_server, refused_url):
    _set_proxy_env(monkeypatch, fault_server.url)
    with face.session() as s:
        r = s.get(refused_url + "/env/proxy")
    assert r.json()["proxied"] is True


def test_no_proxy_environment_bypasses_proxy(face, monkeypatch, fault_server, httpbin):
    _set_proxy_env(monkeypatch, fault_server.url)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with face.session() as s:
        r = s.get(httpbin + "/get")
    assert r.json()["url"] == httpbin + "/get"


def test_trust_env_false_ignores_proxy_environment(face, monkeypatch, fault_server, httpbin):
    _set_proxy_env(monkeypatch, fault_server.url)
    with face.session() as s:
        s.trust_env = False
        r = s.get(httpbin + "/get")
    assert r.json()["url"] == httpbin + "/get"


# ---------------------------------------------------------------------------
# pooling and lifecycle
# ---------------------------------------------------------------------------


def test_session_reuses_connection(face, fault_server):
    with face.session() as session:
        first = session.get(fault_server + "/conn-id").text.split()
        second = session.get(fault_server + "/conn-id").text.split()
        assert first[0] == second[0]
        assert int(second[1]) == int(first[1]) + 1


def test_session_is_a_context_manager(fault_server):
    with requestx.Session() as s:
        assert isinstance(s, requestx.Session)
        assert s.get(fault_server + "/ok").text == "ok\n"


def test_session_close_closes_pooled_connections(face, fault_server):
    with face.session() as s:
        conn_id = int(s.get(fault_server + "/conn-id").text.split()[0])
        assert conn_id in fault_server.open_connection_ids()
        s.wait(s.close())
        assert wait_until(lambda: conn_id not in fault_server.open_connection_ids())


def test_leaving_session_context_closes_connections(face, fault_server):
    with face.session() as s:
        conn_id = int(s.get(fault_server + "/conn-id").text.split()[0])
    assert wait_until(lambda: conn_id not in fault_server.open_connection_ids())


def test_session_request_method_accepts_all_arguments(face, httpbin):
    with face.session() as session:
        r = session.request(
            "POST",
            httpbin + "/post",
            params={"p": "1"},
            data={"d": "2"},
            headers={"X-H": "3"},
            cookies={"c": "4"},
            auth=("u", "p"),
            timeout=5,
            allow_redirects=True,
        )
        body = r.json()
        assert body["args"] == {"p": "1"}
        assert body["form"] == {"d": "2"}
        assert body["headers"]["X-H"] == "3"
        assert body["headers"]["Cookie"] == "c=4"
        assert body["headers"]["Authorization"].startswith("Basic ")


@pytest.mark.requestx_only
def test_session_survives_server_closing_pooled_connection(face, fault_server):
    """The server closes right after answering, so the next request races the
    FIN.  requests loses that race (ConnectionError: RemoteDisconnected);
    libcurl retries a request on a fresh connection when a reused one dies
    before any response byte, and requestx should keep that."""
    with face.session() as session:
        first = session.get(fault_server + "/ok-then-close").text
        second = session.get(fault_server + "/ok-then-close").text
        assert first != second  # a new connection was made for the second request
        assert session.get(fault_server + "/ok").text == "ok\n"


def test_session_survives_idle_connection_closed_later(face, fault_server):
    with face.session() as session:
        session.get(fault_server + "/ok-then-close")
        time.sleep(0.2)  # the server's close has certainly arrived
        assert session.get(fault_server + "/ok").text == "ok\n"


def test_session_cookie_not_sent_to_other_host(face, httpbin):
    with face.session() as session:
        session.get(httpbin + "/cookies/set?host_only=1")
        r = session.get(httpbin.url_for_host("localhost") + "/cookies")
        assert r.json()["cookies"] == {}


def _write_netrc(tmp_path, monkeypatch, host="127.0.0.1"):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host}\nlogin alice\npassword s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


def test_netrc_credentials_are_used(face, monkeypatch, tmp_path, httpbin):
    _write_netrc(tmp_path, monkeypatch)
    with face.session() as s:
        assert s.get(httpbin + "/basic-auth/alice/s3cret").status_code == 200


def test_explicit_auth_beats_netrc(face, monkeypatch, tmp_path, httpbin):
    _write_netrc(tmp_path, monkeypatch)
    with face.session() as s:
        r = s.get(httpbin + "/basic-auth/alice/s3cret", auth=("alice", "wrong"))
    assert r.status_code == 401


def test_explicit_authorization_header_beats_netrc(face, monkeypatch, tmp_path, httpbin):
    _write_netrc(tmp_path, monkeypatch)
    with face.session() as s:
        r = s.get(httpbin + "/headers", headers={"Authorization": "Bearer token-1"})
        assert r.json()["headers"]["Authorization"] == "Bearer token-1"
        prepared = s.prepare_request(
            requestx.Request("GET", httpbin + "/headers", headers={"Authorization": "Bearer t"})
        )
        assert prepared.headers["Authorization"] == "Bearer t"


def test_trust_env_false_ignores_netrc(face, monkeypatch, tmp_path, httpbin):
    _write_netrc(tmp_path, monkeypatch)
    with face.session() as s:
        s.trust_env = False
        assert s.get(httpbin + "/basic-auth/alice/s3cret").status_code == 401
