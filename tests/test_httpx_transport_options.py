"""The constructor options of the httpx transports, each against a real local
server: verify (bool, path, directory, SSLContext, SSL_CERT_FILE), cert,
http1/http2, limits, proxy (HTTP forward, CONNECT, SOCKS, credentials), uds,
local_address, retries, and the timeouts httpx passes per request."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time

import pytest
from _helpers import parse_wire
from _httpx_faces import (  # noqa: F401 - fixtures
    face_fixture,
    hx_fixture,
    nginx_fixture,
    raised,
    send,
    server_fixture,
)
from servers.fault import refused_port
from servers.httpx_fakes import UnixSocketServer
from servers.proxy import ProxyServer

import requestx

pytestmark = pytest.mark.requestx_only

ORIGIN_NAME = "origin.requestx.test"  # only the proxy can resolve it


@pytest.fixture(autouse=True)
def _no_ca_environment(monkeypatch):
    """trust_env reads SSL_CERT_FILE and SSL_CERT_DIR; tests set them as needed."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture
def proxy():
    with ProxyServer(hosts={ORIGIN_NAME: "127.0.0.1"}) as p:
        yield p


# ---------------------------------------------------------------------------
# verify and cert
# ---------------------------------------------------------------------------


def test_verify_ca_bundle_path(hx, face, tls_server, tls_materials):
    r = send(hx, face, "GET", tls_server + "/ok", transport={"verify": tls_materials.ca_file})
    assert r.text == "ok\n"


def test_verify_ca_directory(hx, face, tls_server, tls_materials):
    if tls_materials.ca_dir is None:
        pytest.skip("no openssl command to hash the CA directory")
    r = send(hx, face, "GET", tls_server + "/ok", transport={"verify": tls_materials.ca_dir})
    assert r.text == "ok\n"


def test_verify_false_accepts_any_certificate(hx, face, tls_wrong_host_server):
    r = send(hx, face, "GET", tls_wrong_host_server + "/ok", transport={"verify": False})
    assert r.text == "ok\n"


def test_verify_true_uses_the_system_store(hx, face, tls_server):
    with pytest.raises(hx.ConnectError):
        send(hx, face, "GET", tls_server + "/ok", transport={"verify": True})


def test_verify_ssl_context_with_the_ca_loaded(hx, face, tls_server, tls_materials):
    context = ssl.create_default_context(cafile=tls_materials.ca_file)
    r = send(hx, face, "GET", tls_server + "/ok", transport={"verify": context})
    assert r.text == "ok\n"


def test_verify_ssl_context_from_memory(hx, face, tls_server, tls_materials):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with open(tls_materials.ca_file) as f:
        context.load_verify_locations(cadata=f.read())
    r = send(hx, face, "GET", tls_server + "/ok", transport={"verify": context})
    assert r.text == "ok\n"


def test_verify_ssl_context_without_verification(hx, face, tls_wrong_host_server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    r = send(hx, face, "GET", tls_wrong_host_server + "/ok", transport={"verify": context})
    assert r.text == "ok\n"


def test_verify_ssl_context_without_the_ca_fails(hx, face, tls_server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(hx.ConnectError):
        send(hx, face, "GET", tls_server + "/ok", transport={"verify": context})


def test_ssl_cert_file_with_trust_env(hx, face, tls_server, tls_materials, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_materials.ca_file)
    assert send(hx, face, "GET", tls_server + "/ok").text == "ok\n"
    with pytest.raises(hx.ConnectError):
        send(hx, face, "GET", tls_server + "/ok", transport={"trust_env": False})


def test_ssl_cert_dir_with_trust_env(hx, face, tls_server, tls_materials, monkeypatch):
    if tls_materials.ca_dir is None:
        pytest.skip("no openssl command to hash the CA directory")
    monkeypatch.setenv("SSL_CERT_DIR", tls_materials.ca_dir)
    assert send(hx, face, "GET", tls_server + "/ok").text == "ok\n"


def test_missing_ca_bundle_is_refused_at_construction(face):
    with pytest.raises(FileNotFoundError):
        requestx.HTTPTransport(verify="/no/such/ca.pem")


@pytest.mark.parametrize("form", ["pair", "combined", "triple-without-password"])
def test_client_certificate(hx, face, tls_client_cert_server, tls_materials, form):
    cert = {
        "pair": (tls_materials.client_cert_file, tls_materials.client_key_file),
        "combined": tls_materials.client_combined_file,
        "triple-without-password": (
            tls_materials.client_cert_file,
            tls_materials.client_key_file,
            None,
        ),
    }[form]
    r = send(
        hx, face, "GET", tls_client_cert_server + "/client-cert",
        transport={"verify": tls_materials.ca_file, "cert": cert},
    )  # fmt: skip
    assert r.json() == {"client_cert": True, "names": ["client.requestx.test"]}


def test_encrypted_client_key_is_refused(tls_materials):
    with pytest.raises(ValueError, match="encrypted"):
        requestx.HTTPTransport(
            cert=(tls_materials.client_cert_file, tls_materials.client_key_file, "secret")
        )


# ---------------------------------------------------------------------------
# HTTP versions
# ---------------------------------------------------------------------------


def test_http2_over_tls(hx, face, nginx, tls_materials):
    options = {"http2": True, "verify": tls_materials.ca_file}
    r = send(hx, face, "GET", nginx.tls_url + "/", transport=options)
    assert r.text == "h2 ok"
    assert r.http_version == "HTTP/2"
    assert r.extensions["http_version"] == b"HTTP/2"
    assert "reason_phrase" not in r.extensions
    assert r.reason_phrase == "OK"  # httpx's own phrase for the status


def test_http1_only_by_default(hx, face, nginx, tls_materials):
    r = send(hx, face, "GET", nginx.tls_url + "/", transport={"verify": tls_materials.ca_file})
    assert r.http_version == "HTTP/1.1"


def test_h2c_with_http1_off(hx, face, nginx):
    r = send(hx, face, "GET", nginx.plain_url + "/", transport={"http1": False, "http2": True})
    assert r.text == "h2c ok"
    assert r.http_version == "HTTP/2"


def test_http2_requests_share_one_connection(hx, nginx, tls_materials):
    async def go():
        transport = requestx.AsyncHTTPTransport(http2=True, verify=tls_materials.ca_file)
        async with hx.AsyncClient(transport=transport) as c:
            return await asyncio.gather(*(c.get(nginx.tls_url + f"/{i}") for i in range(50)))

    nginx.reset_log()
    responses = asyncio.run(go())
    assert {r.http_version for r in responses} == {"HTTP/2"}
    assert len({conn for conn, _ in nginx.log()}) == 1


def test_http2_over_plain_http_speaks_http11(hx, face, server):
    r = send(hx, face, "GET", server + "/echo-raw", transport={"http2": True})
    assert r.http_version == "HTTP/1.1"
    assert b"upgrade" not in r.content.lower()


def test_neither_http1_nor_http2_is_refused():
    with pytest.raises(ValueError):
        requestx.HTTPTransport(http1=False, http2=False)


# ---------------------------------------------------------------------------
# proxies
# ---------------------------------------------------------------------------


def test_http_proxy_forwards_plain_http(hx, face, server, proxy):
    url = f"http://{ORIGIN_NAME}:{server.port}/echo-raw"
    r = send(hx, face, "GET", url, transport={"proxy": proxy.url})
    assert r.status_code == 200
    [record] = proxy.of_kind("http")
    assert record.request_line == f"GET {url} HTTP/1.1"
    names = [n.lower() for n, _ in record.headers]
    assert "proxy-connection" not in names
    assert parse_wire(r.content).get("Host") == f"{ORIGIN_NAME}:{server.port}"


def test_http_proxy_tunnels_https(hx, face, tls_server, tls_materials, proxy):
    options = {"proxy": proxy.url, "verify": tls_materials.ca_file}
    r = send(hx, face, "GET", tls_server + "/ok", transport=options)
    assert r.text == "ok\n"
    assert [r.target for r in proxy.of_kind("connect")] == [f"127.0.0.1:{tls_server.port}"]


@pytest.mark.parametrize("scheme, kind", [("socks5", "socks5"), ("socks5h", "socks5")])
def test_socks_proxy(hx, face, server, proxy, scheme, kind):
    r = send(hx, face, "GET", server + "/ok", transport={"proxy": proxy.proxy_url(scheme)})
    assert r.text == "ok\n"
    assert len(proxy.of_kind(kind)) == 1


def test_proxy_credentials_in_the_url(hx, face, server):
    with ProxyServer(credentials=("proxy user", "p@ss:w/rd%")) as proxy:
        r = send(hx, face, "GET", server + "/ok", transport={"proxy": proxy.authed_url()})
    assert r.text == "ok\n"
    assert proxy.records[-1].authorized


def test_proxy_object_with_auth(hx, face, server):
    with ProxyServer(credentials=("user", "secret")) as proxy:
        options = {"proxy": hx.Proxy(proxy.url, auth=("user", "secret"))}
        r = send(hx, face, "GET", server + "/ok", transport=options)
    assert r.text == "ok\n"


def test_proxy_headers_are_refused(hx):
    with pytest.raises(ValueError, match="proxy headers"):
        requestx.HTTPTransport(proxy=hx.Proxy("http://127.0.0.1:1", headers={"X-A": "1"}))


def test_unknown_proxy_scheme_is_refused():
    with pytest.raises(ValueError, match="scheme"):
        requestx.HTTPTransport(proxy="ftp://127.0.0.1:21")


def test_client_proxy_argument_uses_our_transport_class(hx, server, proxy, monkeypatch):
    """httpx builds proxy transports with HTTPTransport(proxy=...): patched to
    ours, as compat/httpx_suite does, the proxy is used by the engine."""
    monkeypatch.setattr(hx, "HTTPTransport", requestx.HTTPTransport)
    monkeypatch.setattr(hx._client, "HTTPTransport", requestx.HTTPTransport)
    with hx.Client(proxy=proxy.url) as c:
        assert c.get(f"http://{ORIGIN_NAME}:{server.port}/ok").text == "ok\n"
    assert len(proxy.of_kind("http")) == 1


# ---------------------------------------------------------------------------
# uds, local_address, socket_options
# ---------------------------------------------------------------------------


def test_unix_socket(hx, face):
    with UnixSocketServer() as uds:
        r = send(hx, face, "GET", "http://localhost/over-uds", transport={"uds": uds.path})
    assert r.json() == {"method": "GET", "path": "/over-uds", "host": "localhost"}


def test_local_address(hx, face, server):
    r = send(hx, face, "GET", server + "/peer", transport={"local_address": "127.0.0.2"})
    assert r.text.split()[0] == "127.0.0.2"


def test_default_local_address(hx, face, server):
    assert send(hx, face, "GET", server + "/peer").text.split()[0] == "127.0.0.1"


def test_socket_options_are_refused():
    with pytest.raises(ValueError, match="socket_options"):
        requestx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


# ---------------------------------------------------------------------------
# retries
# ---------------------------------------------------------------------------


def test_retries_wait_and_give_up(hx, face):
    url = f"http://127.0.0.1:{refused_port()}/"
    start = time.monotonic()
    with pytest.raises(hx.ConnectError):
        send(hx, face, "GET", url, transport={"retries": 2})
    assert time.monotonic() - start >= 0.45  # waits 0, then 0.5 s, as httpcore does


def test_no_retries_by_default(hx, face):
    url = f"http://127.0.0.1:{refused_port()}/"
    start = time.monotonic()
    with pytest.raises(hx.ConnectError):
        send(hx, face, "GET", url)
    assert time.monotonic() - start < 0.4


def _serve_later(port: int, delay: float) -> threading.Thread:
    """After ``delay`` seconds, answer one request on ``port``."""

    def serve():
        time.sleep(delay)
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(1)
            listener.settimeout(10)
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate"
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_retries_reach_a_server_that_comes_up(hx, face):
    port = refused_port()
    thread = _serve_later(port, 0.2)
    r = send(hx, face, "GET", f"http://127.0.0.1:{port}/", transport={"retries": 4})
    thread.join(5)
    assert r.text == "late"


# ---------------------------------------------------------------------------
# limits
# ---------------------------------------------------------------------------


def test_max_connections_bounds_exchanges_in_flight(hx, server):
    async def go():
        transport = requestx.AsyncHTTPTransport(limits=hx.Limits(max_connections=2))
        async with hx.AsyncClient(transport=transport) as c:
            start = time.monotonic()
            await asyncio.gather(*(c.get(server + "/drip?n=2&interval=0.1") for _ in range(4)))
            return time.monotonic() - start

    # four 0.2 s exchanges, two at a time: about 0.4 s (all at once: 0.2 s)
    assert asyncio.run(go()) >= 0.38


def test_max_connections_bounds_sync_threads(hx, server):
    from concurrent.futures import ThreadPoolExecutor

    transport = requestx.HTTPTransport(limits=hx.Limits(max_connections=2))
    with hx.Client(transport=transport) as c, ThreadPoolExecutor(4) as pool:
        start = time.monotonic()
        list(pool.map(lambda _: c.get(server + "/drip?n=2&interval=0.1"), range(4)))
        assert time.monotonic() - start >= 0.38


def test_unlimited_connections(hx, server):
    async def go():
        transport = requestx.AsyncHTTPTransport(limits=hx.Limits(max_connections=None))
        async with hx.AsyncClient(transport=transport) as c:
            start = time.monotonic()
            await asyncio.gather(*(c.get(server + "/drip?n=2&interval=0.1") for _ in range(4)))
            return time.monotonic() - start

    assert asyncio.run(go()) < 0.38


# ---------------------------------------------------------------------------
# timeouts httpx passes with each request
# ---------------------------------------------------------------------------


def test_read_timeout_from_client_timeout(hx, face, server):
    exc = raised(hx, face, "GET", server + "/stall-headers", client={"timeout": hx.Timeout(0.2)})
    assert isinstance(exc, hx.ReadTimeout)


def test_per_request_timeout_overrides_the_client(hx, face, server):
    exc = raised(hx, face, "GET", server + "/stall-headers", client={"timeout": 30}, timeout=0.2)
    assert isinstance(exc, hx.ReadTimeout)


def test_read_timeout_is_per_read_not_total(hx, face, server):
    # six bytes 0.15 s apart: 0.9 s in all, never 0.4 s without a byte
    r = send(hx, face, "GET", server + "/drip?n=6&interval=0.15", timeout=hx.Timeout(0.4))
    assert r.content == b"xxxxxx"


def test_timeout_extension_on_a_request(hx, server):
    request = hx.Request(
        "GET",
        server + "/stall-headers",
        extensions={"timeout": {"connect": 5.0, "read": 0.2, "write": 5.0, "pool": 5.0}},
    )
    with requestx.HTTPTransport() as transport:
        with pytest.raises(hx.ReadTimeout):
            transport.handle_request(request)


def test_no_timeout_extension_waits(hx, server):
    request = hx.Request("GET", server + "/drip?n=2&interval=0.2")
    with requestx.HTTPTransport() as transport:
        response = transport.handle_request(request)
        assert response.read() == b"xx"


def test_timeout_none_means_no_read_limit(hx, face, server):
    r = send(hx, face, "GET", server + "/drip?n=3&interval=0.2", timeout=None)
    assert r.content == b"xxx"


def test_sdk_style_timeout_object(hx, face, server):
    timeout = hx.Timeout(connect=2.0, read=0.2, write=2.0, pool=2.0)
    exc = raised(hx, face, "GET", server + "/stall-headers", timeout=timeout)
    assert isinstance(exc, hx.ReadTimeout)
    assert json.loads(send(hx, face, "GET", server + "/json", timeout=timeout).content)
