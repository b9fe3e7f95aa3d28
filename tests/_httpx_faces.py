"""Helpers of the httpx transport tests: every behaviour is checked with httpx
and httpx2 (``hx`` fixture, skipped when one is not installed), and most of
them through both transports (``face``: "sync" runs httpx.Client with
requestx.HTTPTransport, "async" httpx.AsyncClient with AsyncHTTPTransport).

``send(hx, face, method, url, transport={...}, client={...}, **kwargs)`` makes
one request through a fresh client and returns the response with its body
read; exceptions propagate. ``send_default`` does the same through httpx's
own transport, for differential tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import Any

import pytest
from servers.httpx_fakes import HttpxFaultServer
from servers.nginx import NginxH2

import requestx

PACKAGES = ["httpx", "httpx2"]
FACES = ["sync", "async"]


def _package(request):
    """The httpx package under test: httpx or httpx2."""
    return pytest.importorskip(request.param)


def _face(request):
    return request.param


def _server():
    """The fault server with the httpx tests' endpoints, one per test module."""
    with HttpxFaultServer() as server:
        yield server
    assert not server.handler_errors


def _nginx(tls_materials):
    """nginx speaking HTTP/2 (h2 over TLS, h2c), skipped where it is missing."""
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        pytest.skip("nginx is not installed (make test installs nginx-light)")
    with NginxH2(tls_materials.server_pem) as server:
        yield server


# Imported by the test modules under these names; the fixtures are "hx",
# "face", "server" and "nginx".
hx_fixture = pytest.fixture(params=PACKAGES, name="hx")(_package)
face_fixture = pytest.fixture(params=FACES, name="face")(_face)
server_fixture = pytest.fixture(scope="module", name="server")(_server)
nginx_fixture = pytest.fixture(scope="module", name="nginx")(_nginx)


def transport_for(face: str, **options: Any) -> Any:
    cls = requestx.HTTPTransport if face == "sync" else requestx.AsyncHTTPTransport
    return cls(**options)


def send(
    hx: Any,
    face: str,
    method: str,
    url: str,
    transport: dict | None = None,
    client: dict | None = None,
    **kwargs: Any,
) -> Any:
    return _send(hx, face, transport_for(face, **(transport or {})), method, url, client, kwargs)


def send_default(hx: Any, face: str, method: str, url: str, **kwargs: Any) -> Any:
    """The same request through httpx's own transport."""
    cls = hx.HTTPTransport if face == "sync" else hx.AsyncHTTPTransport
    return _send(hx, face, cls(), method, url, None, kwargs)


def _send(hx, face, transport, method, url, client, kwargs) -> Any:
    if face == "sync":
        with hx.Client(transport=transport, **(client or {})) as c:
            r = c.request(method, url, **kwargs)
            r.read()
            return r

    async def go():
        async with hx.AsyncClient(transport=transport, **(client or {})) as c:
            r = await c.request(method, url, **kwargs)
            await r.aread()
            return r

    return asyncio.run(go())


def raised(hx: Any, face: str, method: str, url: str, **kwargs: Any) -> BaseException:
    """The exception a request raises (fails the test if it raises none)."""
    try:
        send(hx, face, method, url, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - returned for inspection
        return exc
    pytest.fail(f"{method} {url} raised nothing")
