"""Cookies: the RequestsCookieJar API, and RFC 6265 rules applied by the
session jar (domain and path matching, host-only cookies, Secure, expiry),
each checked on the wire through both faces (``face``: Session and
AsyncSession, tests/_session_faces.py)."""

from __future__ import annotations

import pickle
from http.cookiejar import CookieJar

import pytest
import requests
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

from requestx.cookies import (
    CookieConflictError,
    RequestsCookieJar,
    cookiejar_from_dict,
    create_cookie,
    merge_cookies,
)


def _sent_cookie(response) -> str | None:
    """The Cookie header the fault server received (from /echo-raw)."""
    head = response.content.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "cookie":
            return value.strip()
    return None


# the jar API --------------------------------------------------------------


def test_jar_is_a_cookiejar_and_a_mapping():
    jar = RequestsCookieJar()
    jar["a"] = "1"
    assert isinstance(jar, CookieJar)
    assert jar["a"] == "1"
    assert dict(jar) == {"a": "1"}
    assert "a" in jar
    del jar["a"]
    assert "a" not in jar


def test_jar_get_and_set_with_domain_and_path():
    jar = RequestsCookieJar()
    jar.set("k", "one", domain="a.example", path="/x")
    jar.set("k", "two", domain="b.example", path="/")
    assert jar.get("k", domain="a.example") == "one"
    assert jar.get("k", domain="b.example", path="/") == "two"
    assert jar.get("k", domain="c.example", default="none") == "none"
    with pytest.raises(CookieConflictError):
        jar["k"]
    assert sorted(jar.list_domains()) == ["a.example", "b.example"]
    theirs = requests.cookies.RequestsCookieJar()
    theirs.set("k", "one", domain="a.example", path="/x")
    theirs.set("k", "two", domain="b.example", path="/")
    assert jar.multiple_domains() == theirs.multiple_domains()
    assert jar.get_dict(domain="a.example") == {"k": "one"}


def test_jar_set_none_removes_the_cookie():
    jar = RequestsCookieJar()
    jar.set("k", "v")
    jar.set("k", None)
    assert "k" not in jar


def test_cookiejar_from_dict_and_merge_cookies():
    jar = cookiejar_from_dict({"a": "1", "b": "2"})
    assert jar.get_dict() == {"a": "1", "b": "2"}
    merged = merge_cookies(jar, {"b": "ignored", "c": "3"})
    assert merged.get_dict() == {"a": "1", "b": "2", "c": "3"}
    other = RequestsCookieJar()
    other.set_cookie(create_cookie("d", "4", domain="x.example"))
    merge_cookies(jar, other)
    assert jar.get("d", domain="x.example") == "4"


def test_jar_copy_and_pickle_keep_the_cookies():
    jar = cookiejar_from_dict({"a": "1"})
    assert jar.copy().get_dict() == {"a": "1"}
    assert pickle.loads(pickle.dumps(jar)).get_dict() == {"a": "1"}


def test_jar_api_matches_requests():
    ours, theirs = RequestsCookieJar(), requests.cookies.RequestsCookieJar()
    for jar in (ours, theirs):
        jar.set("a", "1", domain="d.example", path="/p")
        jar.set("b", '"quoted\\"value"')
        jar["c"] = "3"
    assert ours.get_dict() == theirs.get_dict()
    assert sorted(ours.items()) == sorted(theirs.items())
    assert ours.list_paths() == theirs.list_paths()


# RFC 6265 on the wire -------------------------------------------------------


def test_path_matching(face, fault_server):
    with face.session() as s:
        s.get(fault_server + "/set-cookie?scoped=1", headers={})  # sets on path /
        s.cookies.set("deep", "1", domain="127.0.0.1", path="/echo-raw/sub")
        assert _sent_cookie(s.get(fault_server + "/echo-raw")) == "scoped=1"
        sent = _sent_cookie(s.get(fault_server + "/echo-raw/sub/page"))
        assert sorted(sent.split("; ")) == ["deep=1", "scoped=1"]


def test_host_only_cookie_is_not_sent_to_another_host(face, fault_server):
    with face.session() as s:
        s.get(fault_server + "/set-cookie?hostonly=1")
        other = fault_server.url.replace("127.0.0.1", "localhost")
        assert _sent_cookie(s.get(other + "/echo-raw")) is None
        assert _sent_cookie(s.get(fault_server + "/echo-raw")) == "hostonly=1"


def test_secure_cookie_is_not_sent_over_plain_http(face, fault_server):
    with face.session() as s:
        s.cookies.set_cookie(create_cookie("sec", "1", domain="127.0.0.1", secure=True))
        s.cookies.set_cookie(create_cookie("plain", "1", domain="127.0.0.1"))
        assert _sent_cookie(s.get(fault_server + "/echo-raw")) == "plain=1"


def test_secure_cookie_is_sent_over_https(face, tls_server, tls_materials):
    with face.session() as s:
        s.verify = tls_materials.ca_file
        s.cookies.set_cookie(create_cookie("sec", "1", domain="127.0.0.1", secure=True))
        assert _sent_cookie(s.get(tls_server + "/echo-raw")) == "sec=1"


def test_max_age_zero_deletes_and_expired_cookie_is_not_sent(face, httpbin):
    with face.session() as s:
        s.get(httpbin + "/cookies/set?gone=1&kept=2")
        assert s.cookies.get_dict() == {"gone": "1", "kept": "2"}
        s.get(httpbin + "/cookies/delete?gone")
        assert s.cookies.get_dict() == {"kept": "2"}
        assert s.get(httpbin + "/cookies").json() == {"cookies": {"kept": "2"}}


def test_cookies_from_every_redirect_hop_are_kept(face, fault_server):
    with face.session() as s:
        first = "/cookie-redirect?location=/set-cookie%3Fsecond%3D2"
        s.get(fault_server + first)
        assert s.cookies.get_dict() == {"flavor": "choco", "second": "2"}


def test_request_cookies_merge_with_session_cookies_for_that_request_only(face, fault_server):
    with face.session() as s:
        s.cookies.set("session_one", "s")
        sent = _sent_cookie(s.get(fault_server + "/echo-raw", cookies={"req_one": "r"}))
        assert sorted(sent.split("; ")) == ["req_one=r", "session_one=s"]
        assert s.cookies.get_dict() == {"session_one": "s"}
        assert _sent_cookie(s.get(fault_server + "/echo-raw")) == "session_one=s"


def test_response_cookies_hold_only_that_response(face, fault_server):
    with face.session() as s:
        s.cookies.set("old", "1")
        r = s.get(fault_server + "/set-cookie?new=2")
        assert r.cookies.get_dict() == {"new": "2"}
