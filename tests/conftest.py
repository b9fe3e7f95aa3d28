"""Shared fixtures: loopback servers started once per session.

Fixtures
--------
httpbin                  httpbin on a threaded keep-alive HTTP/1.1 server (overrides
                         pytest-httpbin's single-threaded one); ``.url``, ``+ "/path"``,
                         ``.url_for_host("localhost")``.
httpbin_secure           the same app over HTTPS with the trustme server certificate.
fault_server             tests/servers/fault.py FaultServer (session-wide).
isolated_fault_server    a fresh FaultServer per test, to assert that nothing
                         (not even a TCP connection) reached it.
tls_materials            the trustme CA, server and client certificates on disk.
tls_server               HTTPS server (trustme cert for 127.0.0.1/localhost).
tls_client_cert_server   HTTPS server that requires a client certificate.
tls_wrong_host_server    HTTPS server whose certificate names another host.
h3_server                tests/servers/h3.py H3Server: hypercorn with HTTP/3 (QUIC) and
                         h2 / http/1.1 over TLS on one port number, certificate from
                         tls_materials (skips when aioquic or hypercorn is missing).
refused_url              http URL of a loopback port that refuses connections.
stalled_connect_url      http URL whose TCP connect never completes (skips if the
                         trick does not work on this machine).
session                  a fresh requestx.Session, closed after the test.
ws_server                tests/servers/ws.py WSServer: the websockets library's server in
                         a thread (ws://127.0.0.1:port, behaviour by path).
wss_server               the same over TLS with the trustme server certificate.
"""

from __future__ import annotations

import os

import pytest
from _helpers import ENV_VARS
from servers.fault import FaultServer, StalledConnectTarget, refused_port
from servers.tls import TLSMaterials, TLSServer
from servers.wsgi import WSGIServer

_saved_env: dict = {}

PER_TEST_TIMEOUT = 60  # seconds; a hang in the client must not stall the run


def pytest_configure(config):
    for name in ENV_VARS:
        if name in os.environ:
            _saved_env[name] = os.environ.pop(name)
    config.addinivalue_line(
        "markers",
        "requestx_only: behaviour specific to requestx (expected to fail when the "
        "suite is pointed at plain requests)",
    )


def pytest_unconfigure(config):
    os.environ.update(_saved_env)


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(PER_TEST_TIMEOUT, method="thread"))


@pytest.fixture(scope="session")
def httpbin():
    from httpbin import app

    with WSGIServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def tls_materials(tmp_path_factory):
    return TLSMaterials(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="session")
def httpbin_secure(tls_materials):
    from httpbin import app

    with WSGIServer(app, ssl_context=tls_materials.server_context()) as server:
        yield server


def _no_handler_errors(server):
    assert not server.handler_errors, f"server handler crashed: {server.handler_errors!r}"


@pytest.fixture(scope="session")
def fault_server():
    with FaultServer() as server:
        yield server
    _no_handler_errors(server)


@pytest.fixture
def isolated_fault_server():
    with FaultServer() as server:
        yield server
    _no_handler_errors(server)


@pytest.fixture(scope="session")
def ws_server():
    from servers.ws import WSServer

    with WSServer() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture(scope="session")
def wss_server(tls_materials):
    from servers.ws import WSServer

    with WSServer(ssl_context=tls_materials.server_context()) as server:
        yield server


@pytest.fixture(scope="session")
def tls_server(tls_materials):
    with TLSServer(tls_materials) as server:
        yield server
    _no_handler_errors(server)


@pytest.fixture(scope="session")
def tls_client_cert_server(tls_materials):
    with TLSServer(tls_materials, require_client_cert=True) as server:
        yield server
    _no_handler_errors(server)


@pytest.fixture(scope="session")
def tls_wrong_host_server(tls_materials):
    with TLSServer(tls_materials, leaf=tls_materials.wrong_host_cert) as server:
        yield server
    _no_handler_errors(server)


@pytest.fixture(scope="session")
def h3_server(tls_materials):
    pytest.importorskip("aioquic", reason="hypercorn[h3] (aioquic) is not installed")
    pytest.importorskip("hypercorn", reason="hypercorn[h3] is not installed")
    from servers.h3 import H3Server

    certfile = os.path.join(tls_materials.directory, "h3-chain.pem")
    keyfile = os.path.join(tls_materials.directory, "h3-key.pem")
    with open(certfile, "wb") as f:
        f.writelines(blob.bytes() for blob in tls_materials.server_cert.cert_chain_pems)
    tls_materials.server_cert.private_key_pem.write_to_path(keyfile)
    with H3Server(certfile, keyfile) as server:
        yield server
    assert server.error is None, f"the HTTP/3 server failed: {server.error!r}"


@pytest.fixture(scope="session")
def refused_url():
    return f"http://127.0.0.1:{refused_port()}"


@pytest.fixture(scope="session")
def _stalled_target():
    target = StalledConnectTarget()
    yield target
    target.close()


@pytest.fixture
def stalled_connect_url(_stalled_target):
    if not _stalled_target.works:
        pytest.skip("cannot make a loopback TCP connect stall on this machine")
    return _stalled_target.url


@pytest.fixture
def sleeps(monkeypatch):
    """The delays requestx's retry loop waited (sync and async), recorded
    instead of waited (requestx.policy.call's sleep and async_sleep)."""
    from requestx.policy import call

    recorded: list = []

    def fake_sleep(seconds):
        recorded.append(seconds)

    async def fake_async_sleep(seconds):
        recorded.append(seconds)

    monkeypatch.setattr(call, "sleep", fake_sleep)
    monkeypatch.setattr(call, "async_sleep", fake_async_sleep)
    return recorded


@pytest.fixture
def session():
    import requestx

    s = requestx.Session()
    yield s
    s.close()
