"""Big bodies move through requestx with flat memory: a 200 MiB upload (from a
generator or a file, on Session and AsyncSession) and a 200 MiB streamed
download each grow the client's peak RSS by far less than the body. Measured
in a fresh interpreter. (The async download: test_async_streaming.py.)

Many small requests cost little: 10,000 GETs gathered on one AsyncSession
(issue 4's benchmark scenario) stay within bounds for what they hold while in
flight and for the peak of the whole gather; and `import requestx` leaves out
the standard library's cookie, email and urllib.request machinery."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from servers.quick_http import QuickHTTPServer
from servers.sink import PATTERN, SinkServer, pattern_sha256

SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "memory_check.py")
GATHER_SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "gather_memory_check.py")
SIZE = 200 * 1024 * 1024
MAX_GROWTH_KIB = 32 * 1024


@pytest.fixture(scope="module")
def sink():
    with SinkServer() as server:
        yield server


def _run(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("memory") / "big.bin"
    with open(path, "wb") as f:
        for _ in range(SIZE // len(PATTERN)):
            f.write(PATTERN)
    return str(path)


@pytest.mark.parametrize("scenario", ["upload-generator", "async-upload-generator"])
def test_upload_from_generator_is_streamed_with_flat_memory(sink, scenario):
    result = _run(scenario, sink.url, str(SIZE))
    assert result["bytes"] == SIZE
    assert result["chunked"] is True
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB


@pytest.mark.parametrize("scenario", ["upload-file", "async-upload-file"])
def test_upload_from_file_is_streamed_with_flat_memory(sink, big_file, scenario):
    result = _run(scenario, sink.url, str(SIZE), big_file)
    assert result["bytes"] == SIZE
    assert result["chunked"] is False  # a file's length is known: Content-Length
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB


def test_streamed_download_keeps_memory_flat(sink):
    result = _run("download", sink.url, str(SIZE))
    assert result["bytes"] == SIZE
    assert result["sha256"] == pattern_sha256(SIZE)
    assert result["growth_kib"] < MAX_GROWTH_KIB


# 10,000 gathered GETs, AsyncSession(max_connections=100), responses dropped.
# Measured on the 2-CPU development machine (Python 3.11, asyncio):
# - in flight (the server holds every answer until all are submitted): 17.7
#   MiB, under 2 KB a request, half of it asyncio's task and the caller's own
#   coroutine (24.2 MiB before the per-request savings of 26c9ede and later);
# - the same with `await requestx.get(url)`, a session per call: 31-34 MiB
#   (70 MiB before sessions stopped making their cookie jar, hooks, header
#   and settings copies up front);
# - peak of the whole gather: 19.5-20 MiB. It was 45-66 MiB (36-91 against
#   nginx) while a finished transfer kept its libcurl handle (~6 KB) until
#   the event loop freed the transfer (fixed in 4bd5706): the engine thread
#   runs ahead of a busy loop, and the peak then depends on how far.
# The bounds are generous: they catch a per-request leak, a return of that
# retention, or a regression of about a kilobyte a request, not noise.
GATHER_N = 10_000
MAX_IN_FLIGHT_KIB = 28 * 1024
MAX_IN_FLIGHT_API_KIB = 48 * 1024
MAX_GATHER_PEAK_KIB = 40 * 1024

# AddressSanitizer (make asan) pads every allocation and holds freed memory in
# quarantine: many small allocations then cost far more RSS than in a normal
# build, which is what the bounds are for.
SANITIZED = "asan" in os.environ.get("LD_PRELOAD", "")
skip_sanitized = pytest.mark.skipif(
    SANITIZED, reason="RSS under AddressSanitizer is not the normal build's"
)


@pytest.fixture(scope="module")
def quick():
    with QuickHTTPServer() as server:
        yield server


def _gather(scenario: str, url: str) -> dict:
    out = subprocess.run(
        [sys.executable, GATHER_SCRIPT, scenario, url, str(GATHER_N)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["statuses"] == {"200": GATHER_N}
    return result


@skip_sanitized
def test_gathered_requests_in_flight_cost_little(quick):
    result = _gather("in-flight", quick.url)
    assert result["growth_kib"] < MAX_IN_FLIGHT_KIB


@skip_sanitized
def test_gathered_module_function_calls_in_flight_cost_little(quick):
    result = _gather("in-flight-api", quick.url)
    assert result["growth_kib"] < MAX_IN_FLIGHT_API_KIB


@skip_sanitized
def test_gathered_requests_peak_rss_is_bounded(quick):
    result = _gather("peak", quick.url)
    assert result["growth_kib"] < MAX_GATHER_PEAK_KIB


def test_import_leaves_out_cookie_and_email_machinery():
    """http.cookiejar brings urllib.request, http.client and email (~3.5 MB):
    imported when cookies or requestx.utils are first used, not before."""
    code = (
        "import sys, requestx, asyncio\n"
        "heavy = ('http.cookiejar', 'urllib.request', 'http.client', 'email', 'requestx.cookies')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "s = requestx.Session()\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "s.cookies.set('a', '1')\n"
        "print(type(s.cookies).__name__, requestx.utils.dict_from_cookiejar(s.cookies))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "[]", "RequestsCookieJar {'a': '1'}"]


def test_engine_settings_shared_by_sessions_stay_bounded():
    """Sessions share their engine Settings objects process-wide; a process
    rotating through proxies must not keep one for every proxy it ever used."""
    import requestx
    from requestx._core import settings as sessions

    with requestx.Session() as s:
        for i in range(3 * sessions._SETTINGS_MAX):
            proxies = {"http": f"http://proxy{i}.invalid:8080"}
            settings, kind = s._engine_settings("http://example.invalid/", proxies, None, None)
            assert kind == "forward" and f"proxy{i}." in settings.proxy
    assert len(sessions._SETTINGS) <= sessions._SETTINGS_MAX
