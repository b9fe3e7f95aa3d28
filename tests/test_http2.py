"""HTTP/2: h2 over TLS via ALPN, h2c with prior knowledge, and multiplexing
of concurrent async requests over one connection, against a private nginx."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from servers.nginx import NginxH2

import requestx

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
    reason="nginx is not installed (make test installs nginx-light)",
)


@pytest.fixture(scope="module")
def nginx(tls_materials):
    with NginxH2(tls_materials.server_pem) as server:
        yield server


def test_http2_over_tls_via_alpn(nginx, tls_materials):
    with requestx.Session(http2=True) as s:
        r = s.get(nginx.tls_url + "/", verify=tls_materials.ca_file)
    assert r.status_code == 200
    assert r.text == "h2 ok"
    assert r.http_version == "HTTP/2"


def test_default_session_speaks_http11(nginx, tls_materials):
    nginx.reset_log()
    r = requestx.get(nginx.tls_url + "/", verify=tls_materials.ca_file)
    assert r.http_version == "HTTP/1.1"
    assert [proto for _, proto in nginx.log()] == ["HTTP/1.1"]


def test_h2c_with_prior_knowledge(nginx):
    with requestx.Session(http2="prior_knowledge") as s:
        r = s.get(nginx.plain_url + "/")
    assert r.text == "h2c ok"
    assert r.http_version == "HTTP/2"


def test_http2_true_over_plain_http_sends_http11(fault_server):
    # ALPN needs TLS: over plain http, http2=True sends an ordinary HTTP/1.1 request
    with requestx.Session(http2=True) as s:
        r = s.get(fault_server + "/echo-raw")
    assert r.http_version == "HTTP/1.1"
    assert r.content.startswith(b"GET /echo-raw HTTP/1.1\r\n")
    assert b"upgrade" not in r.content.lower()


def test_non_http_answer_is_a_connection_error(nginx):
    # an h2c-only port answers an HTTP/1.1 request with HTTP/2 frames
    with pytest.raises(requestx.ConnectionError):
        requestx.get(nginx.plain_url + "/", timeout=5)


def test_100_concurrent_async_requests_share_one_connection(nginx, tls_materials):
    async def main():
        async with requestx.AsyncSession(http2=True) as s:
            s.verify = tls_materials.ca_file
            return await asyncio.gather(*(s.get(nginx.tls_url + f"/{i}") for i in range(100)))

    nginx.reset_log()
    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 100
    assert {r.http_version for r in responses} == {"HTTP/2"}
    log = nginx.log()
    assert len(log) == 100
    assert len({conn for conn, _ in log}) == 1, "requests were not multiplexed"
    assert {proto for _, proto in log} == {"HTTP/2.0"}


def test_sync_session_reuses_its_http2_connection(nginx, tls_materials):
    nginx.reset_log()
    with requestx.Session(http2=True) as s:
        for _ in range(5):
            s.get(nginx.tls_url + "/", verify=tls_materials.ca_file)
    assert len({conn for conn, _ in nginx.log()}) == 1


def _libcurl_version() -> tuple:
    number = requestx.curl_version().split()[0].split("/", 1)[1]
    return tuple(int(part) for part in number.split(".")[:2])


# libcurl before 8.23.0 can free an HTTP/2 upload's transfer that nghttp2 still
# refers to, when the server resets the stream (CVE-2026-92392): there, a
# request with a body that would negotiate HTTP/2 asks for HTTP/1.1 instead.
UPLOAD_VERSION = "HTTP/2" if _libcurl_version() >= (8, 23) else "HTTP/1.1"


def test_uploads_over_alpn_avoid_http2_on_a_libcurl_without_the_fix(nginx, tls_materials):
    nginx.reset_log()
    ca = tls_materials.ca_file
    with requestx.Session(http2=True) as s:
        versions = [
            s.get(nginx.tls_url + "/", verify=ca).http_version,
            s.post(nginx.tls_url + "/", data=b"x" * 1000, verify=ca).http_version,
            s.put(nginx.tls_url + "/", data=iter([b"a", b"b"]), verify=ca).http_version,
        ]
    assert versions == ["HTTP/2", UPLOAD_VERSION, UPLOAD_VERSION]
    wire = UPLOAD_VERSION.replace("HTTP/2", "HTTP/2.0")
    assert [proto for _, proto in nginx.log()] == ["HTTP/2.0", wire, wire]


def test_async_uploads_over_alpn_avoid_http2_likewise(nginx, tls_materials):
    async def main():
        async with requestx.AsyncSession(http2=True) as s:
            get = await s.get(nginx.tls_url + "/", verify=tls_materials.ca_file)
            post = await s.post(nginx.tls_url + "/", json={"a": 1}, verify=tls_materials.ca_file)
        return get.http_version, post.http_version

    assert asyncio.run(main()) == ("HTTP/2", UPLOAD_VERSION)


def test_uploads_with_prior_knowledge_stay_http2(nginx):
    # the server speaks nothing but HTTP/2, and the user asked for it
    with requestx.Session(http2="prior_knowledge") as s:
        r = s.post(nginx.plain_url + "/", data=b"body")
    assert r.http_version == "HTTP/2"
