"""AsyncSession basics, each checked against the sync Session making the same
call: methods, params, headers, bodies, cookies, auth, redirects, errors and
TLS give the same result (or the same exception) on both faces."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from _helpers import parse_wire, token

import requestx
from requestx import exceptions as exc

# ---------------------------------------------------------------------------
# helpers: one call through Session and through AsyncSession
# ---------------------------------------------------------------------------


def _sync(method, url, setup=None, **kwargs):
    with requestx.Session() as s:
        if setup:
            setup(s)
        r = s.request(method, url, **kwargs)
        r.session_cookies = dict(s.cookies)
        return r


def _async(method, url, setup=None, **kwargs):
    async def go():
        async with requestx.AsyncSession() as s:
            if setup:
                setup(s)
            r = await s.request(method, url, **kwargs)
            r.session_cookies = dict(s.cookies)
            return r

    return asyncio.run(go())


def both(method, url, setup=None, **kwargs):
    """(sync response, async response) of the same call on fresh sessions."""
    return _sync(method, url, setup, **kwargs), _async(method, url, setup, **kwargs)


def both_raise(method, url, setup=None, **kwargs):
    """The exceptions the same call raises on both faces."""
    raised = []
    for face in (_sync, _async):
        try:
            face(method, url, setup, **kwargs)
        except Exception as e:  # noqa: BLE001 - compared below
            raised.append(e)
        else:
            raised.append(None)
    return raised


def _same_exception(raised, expected):
    sync_exc, async_exc = raised
    assert isinstance(sync_exc, expected), sync_exc
    assert isinstance(async_exc, expected), async_exc
    assert type(async_exc) is type(sync_exc)


def _summary(r):
    return (
        r.status_code,
        r.url,
        r.reason,
        [h.status_code for h in r.history],
        [h.url for h in r.history],
        r.request.method,
    )


# ---------------------------------------------------------------------------
# requests and responses
# ---------------------------------------------------------------------------


def test_get_returns_a_response_with_the_same_body(httpbin):
    s, a = both("GET", httpbin + "/get")
    assert isinstance(a, requestx.Response)
    assert a.status_code == 200
    assert _summary(a) == _summary(s)
    assert a.json() == s.json()
    assert a.headers["Content-Type"] == s.headers["Content-Type"]


def test_params_and_headers_are_sent_alike(httpbin):
    kwargs = dict(params={"q": "a b", "n": ["1", "2"]}, headers={"X-Test": "yes"})
    s, a = both("GET", httpbin + "/anything", **kwargs)
    assert a.json()["args"] == {"q": "a b", "n": ["1", "2"]}
    assert a.json()["headers"]["X-Test"] == "yes"
    assert a.url == s.url
    assert a.json() == s.json()


def test_request_bytes_on_the_wire_match_sync(fault_server):
    kwargs = dict(params={"k": "v"}, headers={"X-One": "1"}, data={"field": "value"})
    s, a = both("POST", fault_server + "/echo-raw", **kwargs)
    assert a.content == s.content
    wire = parse_wire(a.content)
    assert wire.request_line == "POST /echo-raw?k=v HTTP/1.1"
    assert wire.body == b"field=value"


def test_post_form(httpbin):
    s, a = both("POST", httpbin + "/post", data={"a": "1", "b": "2"})
    assert a.json()["form"] == {"a": "1", "b": "2"}
    assert a.json() == s.json()


def test_post_json(httpbin):
    s, a = both("POST", httpbin + "/post", json={"k": [1, 2, {"x": None}]})
    assert a.json()["json"] == {"k": [1, 2, {"x": None}]}
    assert a.json()["headers"]["Content-Type"] == "application/json"
    assert a.json() == s.json()


def test_post_from_a_generator_body(fault_server):
    def body():
        yield b"part one, "
        yield b"part two"

    tok = token()
    sync = _sync("POST", fault_server + f"/echo-raw?t={tok}", data=body())
    a = _async("POST", fault_server + f"/echo-raw?t={tok}", data=body())
    recorded = fault_server.requests_with(tok)
    assert [r.body for r in recorded] == [b"part one, part two"] * 2
    assert parse_wire(a.content).headers == parse_wire(sync.content).headers


def test_multipart_files(httpbin):
    files = {"upload": ("name.txt", b"file content\n", "text/plain")}
    s, a = both("POST", httpbin + "/post", files=files, data={"k": "v"})
    assert a.json()["files"] == {"upload": "file content\n"}
    assert a.json()["form"] == {"k": "v"}
    assert a.json()["files"] == s.json()["files"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods(httpbin, method):
    s, a = both(method, httpbin + "/anything", data=b"payload")
    assert a.json()["method"] == method
    assert a.json()["data"] == "payload"
    assert a.json() == s.json()


def test_method_helpers_send_their_method(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            out = {}
            for name in ("get", "post", "put", "patch", "delete", "options"):
                r = await getattr(s, name)(fault_server + "/json")
                out[name] = r.json()["method"]
            r = await s.head(fault_server + "/json")
            out["head"] = (r.status_code, r.content)
            return out

    out = asyncio.run(go())
    assert out == {
        "get": "GET",
        "post": "POST",
        "put": "PUT",
        "patch": "PATCH",
        "delete": "DELETE",
        "options": "OPTIONS",
        "head": (200, b""),
    }


def test_plain_get_is_request_get(httpbin):
    """get(url) without arguments (a leaner coroutine of its own) does what
    request("GET", url) does: session headers, auth, cookies, hooks, redirects."""
    seen = []

    async def go(plain):
        async with requestx.AsyncSession() as s:
            s.headers["X-Session"] = "yes"
            s.auth = ("user", "pass")
            s.cookies.set("jar", "1")
            s.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))
            url = httpbin + "/redirect-to?url=/anything"
            r = await (s.get(url) if plain else s.request("GET", url))
            return r, dict(s.cookies)

    plain, plain_jar = asyncio.run(go(True))
    full, full_jar = asyncio.run(go(False))
    assert seen == [302, 200, 302, 200]
    assert [h.status_code for h in plain.history] == [302]
    assert plain.json()["headers"] == full.json()["headers"]
    assert plain.json()["headers"]["X-Session"] == "yes"
    assert plain.json()["headers"]["Cookie"] == "jar=1"
    assert plain.json()["headers"]["Authorization"].startswith("Basic ")
    assert plain.request.headers == full.request.headers
    assert plain_jar == full_jar


def test_get_runs_an_overridden_request(fault_server):
    """get() goes through request() when a subclass or the instance replaces it."""
    calls = []

    class Logged(requestx.AsyncSession):
        async def request(self, method, url, **kwargs):
            calls.append(("subclass", method, kwargs))
            return await super().request(method, url, **kwargs)

    async def go():
        async with Logged() as s:
            first = await s.get(fault_server + "/json")
        async with requestx.AsyncSession() as s:
            plain = s.request

            async def replaced(method, url, **kwargs):
                calls.append(("instance", method, kwargs))
                return await plain(method, url, **kwargs)

            s.request = replaced
            second = await s.get(fault_server + "/json")
        return first.status_code, second.status_code

    assert asyncio.run(go()) == (200, 200)
    assert calls == [
        ("subclass", "GET", {"allow_redirects": True}),
        ("instance", "GET", {"allow_redirects": True}),
    ]


def test_plain_get_errors_and_cancellation(refused_url, fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            with pytest.raises(exc.ConnectionError):
                await s.get(refused_url)
            task = asyncio.ensure_future(s.get(fault_server + "/stall-headers"))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return (await s.get(fault_server + "/json")).status_code

    assert asyncio.run(go()) == 200


def test_head_has_no_body(httpbin):
    s, a = both("HEAD", httpbin + "/get")
    assert a.status_code == 200
    assert a.content == b""
    assert a.headers.get("Content-Length") == s.headers.get("Content-Length")


def test_error_status_is_returned_not_raised(httpbin):
    s, a = both("GET", httpbin + "/status/418")
    assert a.status_code == 418
    assert not a.ok
    with pytest.raises(exc.HTTPError):
        a.raise_for_status()
    assert _summary(a) == _summary(s)


def test_send_a_prepared_request(httpbin):
    req = requestx.Request("POST", httpbin + "/post", data={"x": "1"}, params={"p": "q"})

    async def go():
        async with requestx.AsyncSession() as s:
            return await s.send(s.prepare_request(req))

    r = asyncio.run(go())
    assert r.json()["form"] == {"x": "1"}
    assert r.json()["args"] == {"p": "q"}


def test_send_refuses_an_unprepared_request(httpbin):
    async def go():
        async with requestx.AsyncSession() as s:
            await s.send(requestx.Request("GET", httpbin + "/get"))

    with pytest.raises(ValueError):
        asyncio.run(go())


def test_session_attributes_are_applied(httpbin):
    def setup(s):
        s.headers["X-Session"] = "s"
        s.params = {"sp": "1"}
        s.auth = ("user", "pw")

    s, a = both("GET", httpbin + "/anything", setup=setup, params={"rp": "2"})
    body = a.json()
    assert body["headers"]["X-Session"] == "s"
    assert body["args"] == {"sp": "1", "rp": "2"}
    assert body["headers"]["Authorization"].startswith("Basic ")
    assert body == s.json()


def test_response_hook_runs(httpbin):
    seen = []

    def setup(s):
        s.hooks["response"].append(lambda r, **kw: seen.append(r.status_code))

    s, a = both("GET", httpbin + "/redirect/2", setup=setup)
    assert seen == [302, 302, 200, 302, 302, 200]  # sync run, then async run
    assert a.status_code == 200


def test_sync_with_statement_is_refused():
    with pytest.raises(TypeError):
        with requestx.AsyncSession():
            pass


# ---------------------------------------------------------------------------
# cookies and auth
# ---------------------------------------------------------------------------


def test_cookies_set_by_the_server_land_in_the_session_jar(fault_server):
    s, a = both("GET", fault_server + "/set-cookie?flavor=choco&size=big")
    assert a.session_cookies == {"flavor": "choco", "size": "big"}
    assert a.session_cookies == s.session_cookies
    assert a.cookies.get("flavor") == "choco"


def test_session_cookies_are_sent(httpbin):
    def setup(s):
        s.cookies.set("sess", "1")

    s, a = both("GET", httpbin + "/cookies", setup=setup, cookies={"req": "2"})
    assert a.json() == {"cookies": {"sess": "1", "req": "2"}}
    assert a.json() == s.json()
    assert "req" not in a.session_cookies  # per-request cookies are not persisted


def test_cookie_jar_persists_between_async_requests(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            await s.get(fault_server + "/set-cookie?a=1")
            r = await s.get(fault_server + "/echo-raw")
            return parse_wire(r.content).get("Cookie")

    assert asyncio.run(go()) == "a=1"


def test_cookie_set_on_a_redirect_is_sent_to_the_target(fault_server):
    s, a = both("GET", fault_server + "/cookie-redirect")
    assert parse_wire(a.content).get("Cookie") == "flavor=choco"
    assert a.content == s.content
    assert a.session_cookies == s.session_cookies == {"flavor": "choco"}


def test_basic_auth(httpbin):
    s, a = both("GET", httpbin + "/basic-auth/user/pass", auth=("user", "pass"))
    assert a.status_code == 200
    assert a.json() == {"authenticated": True, "user": "user"}
    assert a.json() == s.json()


def test_wrong_basic_auth_is_401(httpbin):
    s, a = both("GET", httpbin + "/basic-auth/user/pass", auth=("user", "nope"))
    assert a.status_code == s.status_code == 401


def test_auth_in_url(httpbin):
    s, a = both("GET", httpbin.url.replace("://", "://user:pass@") + "/basic-auth/user/pass")
    assert a.status_code == s.status_code == 200


# ---------------------------------------------------------------------------
# redirects
# ---------------------------------------------------------------------------


def test_redirect_history(httpbin):
    s, a = both("GET", httpbin + "/redirect/3")
    assert a.status_code == 200
    assert [h.status_code for h in a.history] == [302, 302, 302]
    assert a.url == httpbin + "/get"
    assert _summary(a) == _summary(s)
    assert [len(h.history) for h in a.history] == [0, 1, 2]


def _redirect_to_anything(httpbin, status):
    return httpbin + f"/redirect-to?url=/anything&status_code={status}"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_becomes_get(httpbin, status):
    s, a = both("POST", _redirect_to_anything(httpbin, status), data={"a": "1"})
    body = a.json()
    assert body["method"] == "GET"
    assert body["form"] == {} and body["data"] == ""
    assert "Content-Type" not in body["headers"]
    assert a.request.method == "GET"
    assert body == s.json()


@pytest.mark.parametrize("status", [302, 303])
def test_put_becomes_get(httpbin, status):
    s, a = both("PUT", _redirect_to_anything(httpbin, status), data=b"x")
    assert a.json()["method"] == "GET"
    assert a.json() == s.json()


def test_301_keeps_put_but_drops_body(httpbin):
    s, a = both("PUT", _redirect_to_anything(httpbin, 301), data=b"payload")
    assert a.json()["method"] == "PUT"
    assert a.json()["data"] == ""
    assert a.json() == s.json()


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_307_308_keep_method_and_body(httpbin, status, method):
    s, a = both(method, _redirect_to_anything(httpbin, status), data=b"keep me")
    assert a.json()["method"] == method
    assert a.json()["data"] == "keep me"
    assert [h.status_code for h in a.history] == [status]
    assert a.json() == s.json()


@pytest.mark.parametrize("status", [307, 308])
def test_307_308_resend_the_same_bytes(fault_server, status):
    url = fault_server + f"/redirect?status={status}&location=/echo-raw"
    s, a = both("POST", url, json={"k": "v"})
    wire = parse_wire(a.content)
    assert wire.request_line == "POST /echo-raw HTTP/1.1"
    assert wire.body == b'{"k": "v"}'
    assert a.content == s.content


def test_allow_redirects_false(httpbin):
    s, a = both("GET", httpbin + "/redirect/2", allow_redirects=False)
    assert a.status_code == 302
    assert a.is_redirect
    assert a.history == []
    assert a.next is not None and a.next.url == s.next.url


def test_max_redirects_raises_too_many_redirects(isolated_fault_server):
    def setup(s):
        s.max_redirects = 4

    raised = both_raise("GET", isolated_fault_server + "/redirect-loop", setup=setup)
    _same_exception(raised, exc.TooManyRedirects)
    assert "Exceeded 4 redirects" in str(raised[1])
    assert raised[1].response is not None and raised[1].response.status_code == 302
    # max_redirects + 1 requests for each face
    assert len(isolated_fault_server.requests_to("/redirect-loop")) == 2 * 5


def test_authorization_kept_on_same_host_redirect(httpbin):
    s, a = both("GET", httpbin + "/redirect-to", params={"url": "/headers"}, auth=("u", "p"))
    assert a.json()["headers"]["Authorization"].startswith("Basic ")
    assert a.json() == s.json()


def test_authorization_dropped_when_host_changes(httpbin):
    target = httpbin.url_for_host("localhost") + "/headers"
    kwargs = dict(params={"url": target}, auth=("user", "pass"), headers={"X-Keep": "1"})
    s, a = both("GET", httpbin + "/redirect-to", **kwargs)
    assert a.url == target
    assert "Authorization" not in a.json()["headers"]
    assert a.json()["headers"]["X-Keep"] == "1"
    assert a.json() == s.json()


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_refused_connection_raises_connection_error(refused_url):
    raised = both_raise("GET", refused_url + "/")
    _same_exception(raised, exc.ConnectionError)
    assert not isinstance(raised[1], exc.Timeout)
    assert raised[1].request is not None and raised[1].request.url == refused_url + "/"


@pytest.mark.parametrize("path", ["/short", "/bad-chunk", "/truncated-chunk"])
def test_broken_body_raises_chunked_encoding_error(fault_server, path):
    _same_exception(both_raise("GET", fault_server + path), exc.ChunkedEncodingError)


@pytest.mark.parametrize("path", ["/close", "/reset"])
def test_no_response_raises_connection_error(fault_server, path):
    _same_exception(both_raise("GET", fault_server + path), exc.ConnectionError)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("example.invalid/path", exc.MissingSchema),
        ("ftp://127.0.0.1/x", exc.InvalidSchema),
        ("http://", exc.InvalidURL),
        ("http://exa mple.com:notaport/", exc.InvalidURL),
    ],
)
def test_bad_url_raises_before_sending(url, expected):
    _same_exception(both_raise("GET", url), expected)


@pytest.mark.parametrize(
    "headers", [{"X-Bad": "a\r\nInjected: 1"}, {"X-Bad": "a\nb"}, {"X:Bad": "1"}, {"X-Bad": 12}]
)
def test_invalid_header_raises_before_sending(isolated_fault_server, headers):
    raised = both_raise("GET", isolated_fault_server + "/ok", headers=headers)
    _same_exception(raised, exc.InvalidHeader)
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_schema_sends_nothing(isolated_fault_server):
    url = isolated_fault_server.url.replace("http://", "gopher://") + "/ok"
    _same_exception(both_raise("GET", url), exc.InvalidSchema)
    assert isolated_fault_server.connections_accepted == 0


def test_invalid_timeout_raises_value_error(fault_server):
    _same_exception(both_raise("GET", fault_server + "/ok", timeout=-1), ValueError)


def test_session_works_after_errors(fault_server, refused_url):
    async def go():
        async with requestx.AsyncSession() as s:
            outcomes = []
            for url in (refused_url + "/", fault_server + "/short", fault_server + "/reset"):
                try:
                    await s.get(url)
                except exc.RequestException as e:
                    outcomes.append(type(e).__name__)
            r = await s.get(fault_server + "/ok")
            return outcomes, r.text

    outcomes, text = asyncio.run(go())
    assert outcomes == ["ConnectionError", "ChunkedEncodingError", "ConnectionError"]
    assert text == "ok\n"


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


def test_untrusted_ca_raises_ssl_error(tls_server):
    raised = both_raise("GET", tls_server + "/ok")
    _same_exception(raised, exc.SSLError)
    assert isinstance(raised[1], exc.ConnectionError)


def test_verify_with_ca_file(tls_server, tls_materials):
    s, a = both("GET", tls_server + "/json", verify=tls_materials.ca_file)
    assert a.json() == {"method": "GET", "path": "/json", "scheme": "https"}
    assert a.json() == s.json()


def test_session_verify_ca_file(tls_server, tls_materials):
    def setup(s):
        s.verify = tls_materials.ca_file

    s, a = both("GET", tls_server + "/ok", setup=setup)
    assert a.text == s.text == "ok\n"


def test_verify_false(tls_server):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s, a = both("GET", tls_server + "/ok", verify=False)
    assert a.text == s.text == "ok\n"


def test_hostname_mismatch_raises_ssl_error(tls_wrong_host_server, tls_materials):
    raised = both_raise("GET", tls_wrong_host_server + "/ok", verify=tls_materials.ca_file)
    _same_exception(raised, exc.SSLError)


def test_client_certificate(tls_client_cert_server, tls_materials):
    cert = (tls_materials.client_cert_file, tls_materials.client_key_file)
    url = tls_client_cert_server + "/client-cert"
    s, a = both("GET", url, verify=tls_materials.ca_file, cert=cert)
    assert a.json()["client_cert"] is True
    assert a.json() == s.json()


def test_https_to_httpbin_secure(httpbin_secure, tls_materials):
    s, a = both("GET", httpbin_secure + "/get", verify=tls_materials.ca_file, params={"x": "1"})
    assert a.json()["args"] == {"x": "1"}
    assert a.json() == s.json()


def test_missing_ca_path_raises_oserror(tls_server, tmp_path):
    raised = both_raise("GET", tls_server + "/ok", verify=str(tmp_path / "no-such-ca.pem"))
    _same_exception(raised, OSError)


# ---------------------------------------------------------------------------
# proxies and digest auth
# ---------------------------------------------------------------------------


def test_explicit_proxy(fault_server):
    s, a = both("GET", "http://example.invalid/x?y=1", proxies={"http": fault_server.url})
    assert a.json()["proxied"] is True
    assert a.json()["target"] == "http://example.invalid/x?y=1"
    assert a.json() == s.json()


def test_session_proxy_with_credentials(fault_server):
    proxy = fault_server.url.replace("://", "://puser:ppass@")

    def setup(s):
        s.proxies = {"http": proxy}

    s, a = both("GET", "http://example.invalid/auth", setup=setup)
    assert a.json()["proxy_authorization"].startswith("Basic ")
    assert a.json() == s.json()


def test_environment_proxy(fault_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", fault_server.url)
    s, a = both("GET", "http://example.invalid/env")
    assert a.json()["proxied"] is True
    assert a.json() == s.json()


def test_environment_proxy_ignored_without_trust_env(fault_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")

    def setup(s):
        s.trust_env = False

    s, a = both("GET", fault_server + "/json", setup=setup)
    assert a.json()["path"] == "/json"
    assert a.json() == s.json()


def test_unreachable_proxy_raises_proxy_error(refused_url, isolated_fault_server):
    raised = both_raise("GET", isolated_fault_server + "/ok", proxies={"http": refused_url})
    _same_exception(raised, exc.ProxyError)
    assert isolated_fault_server.connections_accepted == 0


def test_digest_auth(httpbin):
    url = httpbin + "/digest-auth/auth/user/pass"
    # a fresh auth object each: it remembers the nonce of its last challenge
    s = _sync("GET", url, auth=requestx.auth.HTTPDigestAuth("user", "pass"))
    a = _async("GET", url, auth=requestx.auth.HTTPDigestAuth("user", "pass"))
    assert a.status_code == 200
    assert a.json() == {"authenticated": True, "user": "user"}
    assert [h.status_code for h in a.history] == [h.status_code for h in s.history] == [401]


def test_digest_auth_with_a_stream(httpbin):
    """The Digest retry of a stream=True request: the body of the authorised
    response is read as with the sync Session."""
    url = httpbin + "/digest-auth/auth/user/pass"
    with requestx.Session() as s:
        with s.get(url, auth=requestx.auth.HTTPDigestAuth("user", "pass"), stream=True) as r:
            sync_body = b"".join(r.iter_content(None))

    async def go():
        async with requestx.AsyncSession() as s:
            auth = requestx.auth.HTTPDigestAuth("user", "pass")
            async with s.stream("GET", url, auth=auth) as r:
                return r.status_code, await r.aread()

    status, body = asyncio.run(go())
    assert status == 200
    assert body == sync_body
    assert b'"authenticated": true' in body


def test_awaitable_response_hook_is_awaited(httpbin):
    seen = []

    async def hook(r, **kwargs):
        await asyncio.sleep(0)
        seen.append(r.status_code)
        r.headers["X-Hooked"] = "yes"
        return r

    async def go():
        async with requestx.AsyncSession() as s:
            return await s.get(httpbin + "/redirect/2", hooks={"response": hook})

    r = asyncio.run(go())
    assert seen == [302, 302, 200]  # every hop, as the sync hooks run
    assert r.headers["X-Hooked"] == "yes"
    assert all(h.headers["X-Hooked"] == "yes" for h in r.history)


def test_response_connection_sends_on_the_same_session(fault_server):
    async def go():
        async with requestx.AsyncSession() as s:
            first = await s.get(fault_server + "/conn-id")
            again = await first.connection.send(first.request)
            return first.text.split()[0], again.text.split()[0], again.request.url

    first, again, url = asyncio.run(go())
    assert again == first  # the same pooled connection
    assert url == fault_server + "/conn-id"
