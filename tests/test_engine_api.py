"""The engine's Python boundary: Settings objects, the constants it exports,
the arguments perform()/submit() accept, and Pending's steps as methods of
the session."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys

import pytest

import requestx
from requestx import _engine

ARGS = (
    _engine.HTTP_VERSION_1_1,
    True,
    "/ca.pem",
    None,
    None,
    None,
    "http://p:3128",
    True,
    None,
    None,
    True,
)
NAMES = (
    "http_version", "verify", "ca_info", "ca_path", "cert", "key", "proxy", "decode",
    "interface", "unix_socket", "resend_unsafe",
)  # fmt: skip


def test_settings_keep_their_arguments_as_read_only_attributes():
    settings = _engine.Settings(*ARGS)
    assert tuple(getattr(settings, name) for name in NAMES) == ARGS
    with pytest.raises(AttributeError):
        settings.proxy = None  # type: ignore[misc]
    assert repr(settings) == (
        f"Settings(http_version={_engine.HTTP_VERSION_1_1}, verify=True, ca_info='/ca.pem', "
        "ca_path=None, cert=None, key=None, proxy='http://p:3128', decode=True, "
        "interface=None, unix_socket=None, resend_unsafe=True)"
    )
    assert _engine.Settings(*ARGS[:-1]).resend_unsafe is False  # the default


def test_settings_take_keywords_in_the_same_order():
    settings = _engine.Settings(**dict(zip(NAMES, ARGS)))
    assert settings.proxy == "http://p:3128" and settings.decode is True


def test_settings_compare_and_hash_by_identity():
    a, b = _engine.Settings(*ARGS), _engine.Settings(*ARGS)
    assert a != b and a == a
    assert len({a, b, a}) == 2


@pytest.mark.parametrize(
    "index, value, error",
    [
        (0, "1", TypeError),
        (2, b"/ca.pem", TypeError),
        (6, 3128, TypeError),
        (8, "a\0b", ValueError),
    ],
)
def test_settings_reject_wrong_arguments(index, value, error):
    args = list(ARGS)
    args[index] = value
    with pytest.raises(error):
        _engine.Settings(*args)


def test_perform_and_submit_want_a_settings_object(fault_server):
    old_tuple = tuple(ARGS)
    client = _engine.Client()
    with pytest.raises(TypeError, match="settings must be a requestx._engine.Settings"):
        client.perform("GET", fault_server.url + "/ok", None, None, 0.0, 0.0, 0.0, old_tuple, False)

    async def submit():
        loop = asyncio.get_running_loop()
        aclient = _engine.AsyncClient(10, 0, False)
        with pytest.raises(TypeError, match="settings must be a requestx._engine.Settings"):
            aclient.submit(
                _engine.Port(), loop.create_future(), "GET", fault_server.url, "127.0.0.1",
                None, None, 0.0, 0.0, 0.0, old_tuple, False,
            )  # fmt: skip

    asyncio.run(submit())


def test_the_engine_exports_the_codes_the_error_tables_name():
    # curl/curl.h, stable since libcurl 7.x
    assert _engine.CURLE_COULDNT_CONNECT == 7
    assert _engine.CURLE_OPERATION_TIMEDOUT == 28
    assert _engine.CURLE_RECV_ERROR == 56
    assert _engine.FLAG_SETS_COOKIE == 1 and _engine.FLAG_LENGTH_CONFLICT == 2
    assert (_engine.PHASE_CONNECT, _engine.PHASE_WAIT, _engine.PHASE_BODY) == (0, 1, 2)
    from requestx import exceptions

    assert set(exceptions._CURL_ERRORS) <= {
        getattr(_engine, name) for name in dir(_engine) if name.startswith("CURLE_")
    }


def test_pending_steps_are_methods_of_the_session():
    assert not hasattr(_engine, "set_pending_hooks")
    for name in ("_pending_start", "_pending_done", "_pending_failed"):
        assert callable(getattr(requestx.AsyncSession, name))


@pytest.mark.skipif(importlib.util.find_spec("_testcapi") is None, reason="needs _testcapi")
def test_perform_survives_each_allocation_failing(fault_server):
    script = os.path.join(os.path.dirname(__file__), "isolated", "perform_nomemory.py")
    out = subprocess.run(
        [sys.executable, script, fault_server.url + "/ok"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    ok, failed = map(int, out.stdout.split())
    assert failed > 0 and ok > 0


def test_the_result_layout_is_the_one_wire_names(httpbin):
    """perform()'s result, read by the positions requestx/_wire.py names."""
    from requestx import _wire

    url = httpbin + "/cookies/set?k=v"
    with requestx.Session() as s:
        settings, _ = s._engine_settings(url, None, None, None)
        result = s._client.perform("GET", url, (b"Accept:",), None, 0.0, 0.0, 0.0, settings, False)
    assert len(result) == 6
    assert result[_wire.RESULT_STATUS] == 302
    assert result[_wire.RESULT_VERSION] == 11
    assert result[_wire.RESULT_HEAD].startswith(b"HTTP/1.1 302")
    assert type(result[_wire.RESULT_BODY]) is bytes
    timings = _wire.TIMINGS.unpack(result[_wire.RESULT_TIMINGS])
    assert len(timings) == len(_wire.TIMING_NAMES) + 2 and timings[5] > 0
    flags = result[_wire.RESULT_FLAGS]
    assert flags & _wire.FLAG_SETS_COOKIE and not flags & _wire.FLAG_LENGTH_CONFLICT


# --------------------------------------------------------------------------
# What the engine runs on


def test_curl_features_name_what_this_libcurl_can_do():
    features = requestx.curl_features()
    assert isinstance(features, frozenset)
    assert features <= {
        "gzip", "br", "zstd", "http2", "http3", "alt-svc", "websockets",
        "ssl", "https-proxy", "idn", "threadsafe",
    }  # fmt: skip
    assert {"gzip", "ssl", "threadsafe"} <= features
    if requestx.curl_version().startswith("libcurl/8."):
        # the bundled build: every capability requestx builds on
        assert {"http2", "http3", "websockets", "br", "zstd", "alt-svc"} <= features


def test_curl_version_names_the_engines_libraries():
    version = requestx.curl_version()
    assert version.startswith("libcurl/")
    if "http3" in requestx.curl_features():
        assert "ngtcp2/" in version and "nghttp3/" in version


def test_the_engine_exports_its_module_init_only():
    out = subprocess.run(
        ["nm", "-D", "--defined-only", _engine.__file__], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert [line.split()[-1] for line in out.stdout.splitlines()] == ["PyInit__engine"]
