"""Pickling, at every protocol (0 to pickle.HIGHEST_PROTOCOL), as in requests:
responses (plain, streamed, redirected, with cookies), prepared requests,
CaseInsensitiveDict, RequestsCookieJar and sessions round-trip with their
observable state.  Protocols 0 and 1 refuse a class with __slots__ but no
__getstate__, so every slotted class that can end up in a pickle needs one."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import pickle

import pytest
from _helpers import parse_wire

import requestx
from requestx.cookies import RequestsCookieJar, cookiejar_from_dict
from requestx.structures import CaseInsensitiveDict

PROTOCOLS = list(range(pickle.HIGHEST_PROTOCOL + 1))
protocols = pytest.mark.parametrize("protocol", PROTOCOLS)


def roundtrip(obj, protocol):
    return pickle.loads(pickle.dumps(obj, protocol=protocol))


def a_hook(response, *args, **kwargs):  # module level: pickled by reference
    return response


def cookie_tuples(jar):
    return sorted((c.name, c.value, c.domain, c.path) for c in jar)


def assert_same_request(copied, original):
    assert type(copied) is type(original)
    assert copied.method == original.method
    assert copied.url == original.url
    assert isinstance(copied.headers, CaseInsensitiveDict)
    assert list(copied.headers.items()) == list(original.headers.items())
    assert copied.body == original.body
    assert copied.hooks == original.hooks


def assert_same_response(copied, original):
    assert type(copied) is type(original)
    assert copied.status_code == original.status_code
    assert copied.reason == original.reason
    assert copied.url == original.url
    assert isinstance(copied.headers, CaseInsensitiveDict)
    assert list(copied.headers.items()) == list(original.headers.items())
    assert copied.content == original.content
    assert copied.text == original.text
    assert copied.encoding == original.encoding
    assert copied.elapsed == original.elapsed
    assert isinstance(copied.cookies, RequestsCookieJar)
    assert cookie_tuples(copied.cookies) == cookie_tuples(original.cookies)
    assert copied.ok is original.ok
    assert repr(copied) == repr(original)
    assert copied.raw is None  # as in requests: the body is in content
    assert_same_request(copied.request, original.request)
    assert len(copied.history) == len(original.history)
    for copied_hop, original_hop in zip(copied.history, original.history):
        assert_same_response(copied_hop, original_hop)


# ---------------------------------------------------------------------------
# CaseInsensitiveDict and RequestsCookieJar
# ---------------------------------------------------------------------------


@protocols
def test_case_insensitive_dict(protocol):
    d = CaseInsensitiveDict({"Content-Type": "text/plain", "X-Many": "1, 2"})
    d["accept"] = "*/*"
    copied = roundtrip(d, protocol)
    assert type(copied) is CaseInsensitiveDict
    assert list(copied.items()) == list(d.items())  # the case as set is kept
    assert copied == d
    assert copied["CONTENT-TYPE"] == "text/plain"
    assert "x-MANY" in copied
    copied["Accept"] = "text/html"  # the copy is a dict of its own
    assert d["accept"] == "*/*"
    assert list(copied) == ["Content-Type", "X-Many", "Accept"]


@protocols
def test_empty_case_insensitive_dict(protocol):
    copied = roundtrip(CaseInsensitiveDict(), protocol)
    assert copied == {} and len(copied) == 0
    copied["A"] = "1"
    assert copied["a"] == "1"


class _TaggedDict(CaseInsensitiveDict):
    """A subclass with attributes of its own (it has an instance dict)."""


@protocols
def test_case_insensitive_dict_subclass_keeps_its_attributes(protocol):
    d = _TaggedDict({"A": "1"})
    d.tag = "mine"
    copied = roundtrip(d, protocol)
    assert type(copied) is _TaggedDict
    assert copied.tag == "mine"
    assert dict(copied) == {"A": "1"}


@protocols
def test_cookie_jar(protocol):
    jar = RequestsCookieJar()
    jar.set("a", "1", domain="example.com", path="/")
    jar.set("b", "2", domain="other.test", path="/x")
    copied = roundtrip(jar, protocol)
    assert type(copied) is RequestsCookieJar
    assert cookie_tuples(copied) == cookie_tuples(jar)
    assert copied.get("b", domain="other.test") == "2"
    copied.set("c", "3")  # the lock that was left out of the pickle is back
    assert "c" in copied and "c" not in jar


@protocols
def test_cookie_jar_from_dict(protocol):
    jar = cookiejar_from_dict({"x": "1", "y": "2"})
    assert roundtrip(jar, protocol).get_dict() == {"x": "1", "y": "2"}


# ---------------------------------------------------------------------------
# PreparedRequest
# ---------------------------------------------------------------------------


@protocols
def test_prepared_request(protocol):
    prepared = requestx.Request(
        "POST",
        "http://example.com/path?q=1",
        headers={"X-Custom": "yes", "Accept": "text/plain"},
        params={"page": "2"},
        data={"field": "value", "other": "two words"},
        cookies={"session": "abc"},
        auth=("user", "pass"),
        hooks={"response": [a_hook]},
    ).prepare()
    copied = roundtrip(prepared, protocol)
    assert_same_request(copied, prepared)
    assert copied.headers["Cookie"] == "session=abc"
    assert copied.headers["Authorization"].startswith("Basic ")
    assert copied.hooks["response"] == [a_hook]


@protocols
def test_prepared_request_with_json_and_files(protocol):
    json_request = requestx.Request("PUT", "http://example.com/", json={"a": [1, 2]}).prepare()
    assert_same_request(roundtrip(json_request, protocol), json_request)
    files_request = requestx.Request(
        "POST", "http://example.com/upload", files={"f": ("a.txt", b"data")}
    ).prepare()
    assert_same_request(roundtrip(files_request, protocol), files_request)


@protocols
def test_prepared_request_from_a_session_before_its_headers_are_read(protocol):
    with requestx.Session() as s:
        s.headers["X-Session"] = "1"
        prepared = s.prepare_request(requestx.Request("GET", "http://example.com/a"))
        # pickled before anything reads prepared.headers
        data = pickle.dumps(prepared, protocol=protocol)
        twin = s.prepare_request(requestx.Request("GET", "http://example.com/a"))
    copied = pickle.loads(data)
    assert_same_request(copied, prepared)
    assert list(copied.headers.items()) == list(twin.headers.items())
    assert copied.headers["x-session"] == "1"
    copied.headers["X-Session"] = "changed"  # its own headers, not the session's
    assert prepared.headers["X-Session"] == "1"
    assert s.headers["X-Session"] == "1"


@protocols
def test_prepared_requests_sharing_headers_unpickle_independently(protocol):
    with requestx.Session() as s:
        first = s.prepare_request(requestx.Request("GET", "http://example.com/1"))
        second = s.prepare_request(requestx.Request("GET", "http://example.com/2"))
    a, b = roundtrip([first, second], protocol)
    a.headers["X-Only-A"] = "1"
    assert "X-Only-A" not in b.headers
    assert b.headers == second.headers


@protocols
def test_unpickled_prepared_request_can_be_sent(fault_server, protocol):
    with requestx.Session() as s:
        prepared = s.prepare_request(
            requestx.Request("POST", fault_server + "/echo-raw", data=b"payload")
        )
        copied = roundtrip(prepared, protocol)
        r = s.send(copied)
    wire = parse_wire(r.content)
    assert wire.method == "POST"
    assert wire.body == b"payload"


# ---------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------


@protocols
def test_response_of_a_get(fault_server, protocol):
    r = requestx.get(fault_server + "/json")
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.json() == r.json()
    assert copied.json()["path"] == "/json"


@protocols
def test_response_of_a_post_with_a_body(httpbin, protocol):
    r = requestx.post(httpbin + "/post", data={"k": "v"}, headers={"X-Test": "1"})
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.request.body == "k=v"
    assert copied.json()["form"] == {"k": "v"}


@protocols
def test_response_with_an_error_status(fault_server, protocol):
    r = requestx.get(fault_server + "/status/404")
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    with pytest.raises(requestx.HTTPError):
        copied.raise_for_status()


@protocols
def test_response_with_repeated_and_unusual_headers(fault_server, protocol):
    for path in ("/multi-header", "/latin1-header", "/reason", "/gzip"):
        r = requestx.get(fault_server + path)
        assert_same_response(roundtrip(r, protocol), r)


@protocols
def test_response_whose_headers_were_never_read(fault_server, protocol):
    r = requestx.get(fault_server + "/ok")
    copied = roundtrip(r, protocol)  # nothing read from r before pickling
    assert copied.headers == r.headers
    assert copied.content == b"ok\n"
    assert copied.reason == r.reason == "OK"


@protocols
def test_response_with_cookies(fault_server, protocol):
    r = requestx.get(fault_server + "/set-cookie?a=1&b=2")
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.cookies.get_dict() == {"a": "1", "b": "2"}


@protocols
def test_response_with_history(fault_server, protocol):
    r = requestx.get(fault_server + "/cookie-redirect?location=/json")
    assert [h.status_code for h in r.history] == [302]
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.history[0].cookies.get_dict() == {"flavor": "choco"}
    assert copied.history[0].headers["Location"] == "/json"
    assert copied.request.headers["Cookie"] == "flavor=choco"
    assert copied.url == fault_server + "/json"


@protocols
def test_response_with_two_redirects(fault_server, protocol):
    inner = "/redirect?status=307%26location=/json"
    with requestx.Session() as s:
        r = s.post(fault_server + f"/redirect?status=301&location={inner}", data=b"x")
    assert len(r.history) == 2
    assert_same_response(roundtrip(r, protocol), r)


@protocols
def test_response_not_following_redirects(fault_server, protocol):
    r = requestx.get(fault_server + "/redirect?location=/json", allow_redirects=False)
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.is_redirect


@protocols
def test_streamed_response_read_before_pickling(fault_server, protocol):
    r = requestx.get(fault_server + "/big?size=100000", stream=True)
    body = r.content
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.content == body
    assert len(body) == 100000


@protocols
def test_streamed_response_is_read_by_pickling(fault_server, protocol):
    plain = requestx.get(fault_server + "/big-chunked?size=50000").content
    r = requestx.get(fault_server + "/big-chunked?size=50000", stream=True)
    copied = roundtrip(r, protocol)  # as in requests: __getstate__ reads the body
    assert copied.content == plain
    assert r.content == plain
    assert_same_response(copied, r)


@protocols
def test_streamed_response_consumed_by_iteration(fault_server, protocol):
    r = requestx.get(fault_server + "/big?size=10000", stream=True)
    assert len(b"".join(r.iter_content(1024))) == 10000
    copied = roundtrip(r, protocol)
    assert copied.status_code == 200
    assert copied.headers == r.headers
    # as in requests: the body was handed out, not kept, so there is none to pickle
    with pytest.raises(RuntimeError):
        copied.content


@protocols
def test_response_pickles_again_after_a_round_trip(fault_server, protocol):
    r = requestx.get(fault_server + "/cookie-redirect?location=/set-cookie%3Fz%3D9")
    once = roundtrip(r, protocol)
    twice = roundtrip(once, protocol)
    assert_same_response(twice, r)


@protocols
def test_response_made_by_hand(protocol):
    r = requestx.Response()
    r.status_code = 201
    r._content = b"made"
    r.headers["Content-Type"] = "text/plain; charset=utf-8"
    r.url = "http://example.com/"
    copied = roundtrip(r, protocol)
    assert copied.status_code == 201
    assert copied.text == "made"
    assert copied.encoding == r.encoding
    assert copied.headers == r.headers


def test_response_deepcopy(fault_server):
    r = requestx.get(fault_server + "/cookie-redirect?location=/json")
    assert_same_response(copy.deepcopy(r), r)


@pytest.mark.requestx_only
@protocols
def test_response_keeps_http_version_and_timings(fault_server, protocol):
    r = requestx.get(fault_server + "/json")
    copied = roundtrip(r, protocol)
    assert copied.http_version == r.http_version == "HTTP/1.1"
    assert copied.timings == r.timings
    assert copied.timings["total"] > 0
    http10 = requestx.get(fault_server + "/http10")
    assert roundtrip(http10, protocol).http_version == "HTTP/1.0"


# ---------------------------------------------------------------------------
# Session
# ---------------------------------------------------------------------------


def _configured_session():
    s = requestx.Session()
    s.headers["X-Session"] = "kept"
    s.auth = ("user", "pass")
    s.params = {"p": "1"}
    s.proxies = {"http://unused.invalid": "http://127.0.0.1:9"}
    s.verify = False
    s.cert = None
    s.stream = True
    s.trust_env = False
    s.max_redirects = 7
    s.cookies.set("jar", "cookie", domain="127.0.0.1", path="/")
    s.hooks["response"].append(a_hook)
    return s


@protocols
def test_session(protocol):
    with _configured_session() as s:
        copied = roundtrip(s, protocol)
    with copied:
        assert type(copied) is requestx.Session
        assert copied.headers == s.headers
        assert isinstance(copied.headers, CaseInsensitiveDict)
        assert copied.auth == ("user", "pass")
        assert copied.params == {"p": "1"}
        assert copied.proxies == s.proxies
        assert copied.verify is False
        assert copied.stream is True
        assert copied.trust_env is False
        assert copied.max_redirects == 7
        assert copied.hooks == s.hooks
        assert cookie_tuples(copied.cookies) == cookie_tuples(s.cookies)


@protocols
def test_unpickled_session_sends_its_settings(fault_server, protocol):
    with _configured_session() as s:
        s.stream = False
        copied = roundtrip(s, protocol)
    with copied:
        r = copied.get(fault_server + "/echo-raw")
    wire = parse_wire(r.content)
    assert wire.get("X-Session") == "kept"
    assert wire.get("Cookie") == "jar=cookie"
    assert wire.get("Authorization").startswith("Basic ")
    assert wire.target == "/echo-raw?p=1"


@protocols
def test_default_session(fault_server, protocol):
    s = requestx.Session()
    copied = roundtrip(s, protocol)
    assert copied.headers == s.headers
    assert copied.get(fault_server + "/ok").content == b"ok\n"
    copied.close()
    s.close()


@pytest.mark.requestx_only
@protocols
def test_session_keeps_http2(protocol):
    with requestx.Session(http2="prior_knowledge") as s:
        copied = roundtrip(s, protocol)
    assert copied.http2 == "prior_knowledge"
    copied.close()


# ---------------------------------------------------------------------------
# AsyncSession and its responses (requestx only)
# ---------------------------------------------------------------------------


@pytest.mark.requestx_only
@protocols
def test_async_response(fault_server, protocol):
    async def go():
        async with requestx.AsyncSession() as s:
            return await s.get(fault_server + "/cookie-redirect?location=/json")

    r = asyncio.run(go())
    sync = requestx.get(fault_server + "/cookie-redirect?location=/json")
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert copied.json() == sync.json()
    assert copied.cookies.get_dict() == sync.cookies.get_dict()
    assert [h.status_code for h in copied.history] == [302]


@pytest.mark.requestx_only
@protocols
def test_async_streamed_response_after_aread(fault_server, protocol):
    async def go():
        async with requestx.AsyncSession() as s:
            r = await s.get(fault_server + "/big?size=70000", stream=True)
            await r.aread()
            return r

    r = asyncio.run(go())
    copied = roundtrip(r, protocol)
    assert_same_response(copied, r)
    assert len(copied.content) == 70000


@pytest.mark.requestx_only
def test_async_streamed_response_unread_is_refused_then_pickles_once_read(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            r = await s.get(fault_server + "/big?size=30000", stream=True)
            for protocol in PROTOCOLS:
                # pickling cannot read the body without the event loop
                with pytest.raises(RuntimeError, match="aread"):
                    pickle.dumps(r, protocol=protocol)
            body = await r.aread()  # the failed attempts did not spoil it
            return r, body

    r, body = asyncio.run(go())
    assert len(body) == 30000
    for protocol in PROTOCOLS:
        assert roundtrip(r, protocol).content == body


@pytest.mark.requestx_only
@protocols
def test_async_session(fault_server, protocol):
    async def go():
        async with requestx.AsyncSession(
            max_connections=7, max_connections_per_host=3, http2=True
        ) as s:
            s.headers["X-Async"] = "1"
            s.cookies.set("k", "v", domain="127.0.0.1", path="/")
            copied = roundtrip(s, protocol)
        async with copied:
            assert type(copied) is requestx.AsyncSession
            assert copied.max_connections == 7
            assert copied.max_connections_per_host == 3
            assert copied.http2 is True
            assert copied.headers["x-async"] == "1"
            assert "stream" not in vars(copied)  # still the method
            async with copied.stream("GET", fault_server + "/echo-raw") as r:
                raw = await r.aread()
            plain = await copied.get(fault_server + "/json")
        return raw, plain

    raw, plain = asyncio.run(go())
    wire = parse_wire(raw)
    assert wire.get("X-Async") == "1"
    assert wire.get("Cookie") == "k=v"
    assert json.loads(plain.content)["path"] == "/json"


def test_elapsed_survives(fault_server):
    r = requestx.get(fault_server + "/ok")
    for protocol in PROTOCOLS:
        elapsed = roundtrip(r, protocol).elapsed
        assert isinstance(elapsed, datetime.timedelta)
        assert elapsed == r.elapsed


@pytest.mark.requestx_only
@protocols
def test_server_sent_event(protocol):
    event = requestx.ServerSentEvent(event="update", data='{"a": 1}', id="7", retry=1500)
    copied = roundtrip(event, protocol)
    assert copied == event
    assert (copied.event, copied.data, copied.id, copied.retry) == ("update", '{"a": 1}', "7", 1500)
    assert copied.json() == {"a": 1}
